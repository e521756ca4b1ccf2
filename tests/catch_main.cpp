// The one translation unit that provides Catch2's main() for every unit-test executable.
//
// GCC 12 with -fsanitize=address and -O2 reports a false -Wmaybe-uninitialized inside
// libstdc++'s std::function as instantiated by Catch2's main (via <regex>); silence only that.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
