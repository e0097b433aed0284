/*
 * Debian 12's simple-whip-client (whip-client) links libsoup 2.4 for its
 * HTTP, while GStreamer's libnice links gupnp-igd 1.6, which links libsoup 3.
 * libsoup 3 aborts at load when it finds libsoup 2's symbols in the process
 * ("libsoup2 symbols detected"), so the packaged client cannot start. The
 * check looks the symbol up through GLib's g_module_symbol; this preload
 * answers "not found" for that one lookup and passes every other one on.
 * And it makes gupnp-igd's constructor return NULL, which libnice takes
 * as "no UPnP": gupnp would call libsoup 3 functions that now resolve to
 * libsoup 2's symbols of the same names. The client's HTTP stays on
 * libsoup 2; nothing here needs a UPnP port mapping.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

typedef int gboolean;
typedef void GModule;

gboolean g_module_symbol(GModule *module, const char *name, void **symbol) {
	static gboolean (*real)(GModule *, const char *, void **);
	if (!real)
		real = (gboolean (*)(GModule *, const char *, void **))dlsym(RTLD_NEXT, "g_module_symbol");
	if (name && strcmp(name, "soup_uri_new") == 0) {
		if (symbol)
			*symbol = NULL;
		return 0;
	}
	return real(module, name, symbol);
}

void *gupnp_simple_igd_thread_new(void) {
	return NULL;
}
