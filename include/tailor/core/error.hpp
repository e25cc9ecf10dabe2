#pragma once
// Error types. Every check at the API boundary throws one of these with a message that
// names the argument, what was expected and what was received.
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace tailor {

/// Base of every exception tailor throws.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// An argument has a value outside its domain (tau <= 0, a NaN parameter, ...).
class argument_error : public error {
public:
    using error::error;
};

/// A view or tensor has the wrong rank, extents or memory layout.
class shape_error : public argument_error {
public:
    using argument_error::argument_error;
};

/// An index (label, class id, row id) lies outside its valid range.
class index_error : public argument_error {
public:
    using argument_error::argument_error;
};

/// Reading or writing a file failed.
class io_error : public error {
public:
    using error::error;
};

/// A file or string does not follow its format.
class parse_error : public io_error {
public:
    using io_error::io_error;
};

/// The request is well-formed but this build or backend cannot serve it.
class unsupported_error : public error {
public:
    using error::error;
};

namespace detail {

template <class... Parts>
std::string concat(Parts&&... parts)
{
    std::ostringstream out;
    (out << ... << std::forward<Parts>(parts));
    return out.str();
}

/// A message part: a value, or a callable producing it. Callables let hot paths defer
/// formatting (extents, concatenations) until a check has actually failed.
template <class Part>
decltype(auto) message_part(const Part& part)
{
    if constexpr (std::is_invocable_v<const Part&>)
        return part();
    else
        return (part);
}

/// "tailor: argument 'tau': expected > 0, received -1"
template <class Expected, class Received>
std::string describe(std::string_view argument, const Expected& expected, const Received& received)
{
    return concat("tailor: argument '", argument, "': expected ", message_part(expected), ", received ",
                  message_part(received));
}

template <class Error = argument_error, class Expected, class Received>
[[noreturn]] void fail(std::string_view argument, const Expected& expected, const Received& received)
{
    throw Error(describe(argument, expected, received));
}

/// Throws `Error` naming `argument` unless `condition` holds. Pass `expected` or
/// `received` as a lambda when building it costs more than the check.
template <class Error = argument_error, class Expected, class Received>
void require(bool condition, std::string_view argument, const Expected& expected,
             const Received& received)
{
    if (!condition) fail<Error>(argument, expected, received);
}

}  // namespace detail
}  // namespace tailor
