/* Where `shunt policy update` keeps the last good copy of each policy
 * source. Kept apart from httpfetch.c so the config loader does not pull
 * in libcurl. */
#ifndef SHUNT_POLICYSRC_H
#define SHUNT_POLICYSRC_H

/* $XDG_CACHE_HOME/shunt/policy/<first 16 hex of sha256(url)>.yaml; the
 * ETag sits next to it with ".etag" appended. malloc'd, NULL on OOM. */
char *shunt_policysrc_cache_path(const char *url);

#endif
