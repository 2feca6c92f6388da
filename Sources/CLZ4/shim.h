#ifndef DEPLOYLOG_CLZ4_SHIM_H
#define DEPLOYLOG_CLZ4_SHIM_H
#include <lz4.h>

// Debian's liblz4 does not export LZ4_attach_dictionary (an LZ4LIB_STATIC_API function), which
// lets a working stream use a dictionary loaded once into another stream without copying that
// stream's 16 KiB state per event. This is the same few lines as liblz4 1.9.x's own function,
// written against the stream layout that lz4.h declares. That layout is only promised for the
// library the header came with, so the Swift side uses this only when
// deploylog_lz4_attach_supported() says the loaded library is exactly that version, and
// otherwise copies the prepared state per event.
static inline int deploylog_lz4_attach_supported(void) {
#if LZ4_VERSION_MAJOR == 1 && LZ4_VERSION_MINOR == 9
    return LZ4_versionNumber() == LZ4_VERSION_NUMBER;
#else
    return 0;
#endif
}

static inline void deploylog_lz4_attach_dictionary(LZ4_stream_t *working, const LZ4_stream_t *dictionary) {
    const LZ4_stream_t_internal *dictCtx = dictionary == NULL ? NULL : &dictionary->internal_donotuse;
    if (dictCtx != NULL) {
        if (working->internal_donotuse.currentOffset == 0) {
            working->internal_donotuse.currentOffset = 64 * 1024;
        }
        if (dictCtx->dictSize == 0) {
            dictCtx = NULL;
        }
    }
    working->internal_donotuse.dictCtx = dictCtx;
}
#endif
