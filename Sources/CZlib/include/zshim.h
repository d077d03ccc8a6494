#pragma once
#include <stddef.h>
#include <zlib.h>

/// Initialises `stream` for gzip output (windowBits 15 + 16 adds the gzip header and trailer).
/// Swift cannot call deflateInit2 directly: it is a macro that passes the version and struct size.
static inline int zkstorm_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

/// Initialises `stream` to inflate gzip input only (windowBits 15 + 16).
static inline int zkstorm_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}
