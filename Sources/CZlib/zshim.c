#include "zshim.h"
