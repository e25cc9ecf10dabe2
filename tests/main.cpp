// The single Catch2 main shared by every test translation unit.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
