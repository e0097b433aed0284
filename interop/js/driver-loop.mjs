// The JSON-lines loop every driver shares: one command per stdin line
// ({"id":1,"cmd":"join",…}), one reply per command on stdout
// ({"id":1,"ok":true,"result":…} or {"id":1,"ok":false,"error":{…}}), and
// events as {"event":…,"payload":…} lines written through `out`.
import readline from "node:readline";

export const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

export const errorJSON = (e) => ({ name: e?.name, message: e?.message, size: e?.size, cap: e?.cap, closeCode: e?.closeCode });

// serve runs run(cmd) for each command line; onEnd runs once stdin closes,
// then the process exits (@roamhq/wrtc and browsers can hang at teardown).
export function serve(run, onEnd) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", async (line) => {
    let cmd;
    try {
      cmd = JSON.parse(line);
    } catch {
      return;
    }
    try {
      const result = await run(cmd);
      out({ id: cmd.id, ok: true, result: result ?? null });
    } catch (e) {
      out({ id: cmd.id, ok: false, error: errorJSON(e) });
    }
  });
  rl.on("close", async () => {
    try {
      await onEnd();
    } catch {}
    process.exit(0);
  });
}
