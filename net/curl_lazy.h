/* libcurl is loaded on first use (curl_lazy.c), so it may be missing at
 * run time even though shunt was built against it. */
#ifndef SHUNT_CURL_LAZY_H
#define SHUNT_CURL_LAZY_H

#include "error.h"

/* Loads libcurl if it is not loaded yet. Returns 0 when the curl_* calls
 * will work; -1 with *err ("libcurl is not installed ...") when there is
 * no usable libcurl, and then every curl_* call fails. */
int shunt_curl_load(struct shunt_error **err);

#endif
