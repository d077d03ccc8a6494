#ifndef ZKSTORM_CMALLOCSTATS_H
#define ZKSTORM_CMALLOCSTATS_H

#include <stddef.h>

/// Bytes the process has allocated with malloc and not freed (glibc's mallinfo2: chunks in use in every
/// arena plus mmapped blocks). Swift's Glibc module does not import <malloc.h>, hence this shim.
size_t zkstorm_heap_bytes_in_use(void);

#endif
