#pragma once
#include <curl/curl.h>

// curl_easy_setopt is variadic, which Swift cannot call. One typed wrapper per argument kind.

static inline CURLcode zkstorm_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode zkstorm_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode zkstorm_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION signature.
typedef size_t (*zkstorm_curl_write_callback)(char *data, size_t size, size_t count, void *context);

/// CURLOPT_READFUNCTION signature.
typedef size_t (*zkstorm_curl_read_callback)(char *buffer, size_t size, size_t count, void *context);

static inline CURLcode zkstorm_curl_setopt_write_callback(CURL *handle, CURLoption option,
                                                          zkstorm_curl_write_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

static inline CURLcode zkstorm_curl_setopt_read_callback(CURL *handle, CURLoption option,
                                                         zkstorm_curl_read_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

static inline CURLcode zkstorm_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// CURLOPT_XFERINFOFUNCTION signature; a non-zero return aborts the transfer.
typedef int (*zkstorm_curl_xferinfo_callback)(void *context, curl_off_t download_total, curl_off_t download_now,
                                              curl_off_t upload_total, curl_off_t upload_now);

static inline CURLcode zkstorm_curl_setopt_xferinfo_callback(CURL *handle, zkstorm_curl_xferinfo_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

/// CURLAUTH_BASIC is a cast macro Swift does not import.
static const long zkstorm_curl_auth_basic = (long)CURLAUTH_BASIC;
