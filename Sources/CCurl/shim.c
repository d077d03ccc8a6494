// The shim is header-only (static inline); this file exists because SwiftPM needs a source per C target.
#include "shim.h"
