// servePage serves a few files from memory on a loopback port, for a
// driver's headless Chromium page: files maps a path to {type, body},
// body an async function. It resolves to {url, close}.
import http from "node:http";

export async function servePage(files) {
  const server = http.createServer(async (req, res) => {
    const f = files[new URL(req.url, "http://x").pathname];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": f.type }).end(await f.body());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}
