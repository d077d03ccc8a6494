#include "CMallocStats.h"

#if defined(__linux__)
#include <malloc.h>

size_t zkstorm_heap_bytes_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}
#else
#error "zkstorm_heap_bytes_in_use needs glibc's mallinfo2"
#endif
