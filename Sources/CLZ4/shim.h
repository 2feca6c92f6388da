#ifndef DEPLOYLOG_CLZ4_SHIM_H
#define DEPLOYLOG_CLZ4_SHIM_H
// Only the public liblz4 header. Debian's liblz4 does not export LZ4_attach_dictionary, so the
// Swift side loads a dictionary once into an LZ4_stream_t and copies that state per event.
#include <lz4.h>
#endif
