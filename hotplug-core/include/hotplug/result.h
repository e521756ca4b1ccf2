// Result of a model operation: a value or a kernel errno with the kernel's wording.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace hotplug {

struct Error {
    int code = 0;         // positive errno, as the kernel would return it negated
    std::string message;  // what the kernel would log, for humans and D-Bus errors
    // For errors about input data (a snapshot): where it is wrong, as a path like
    // "/blocks/3/zone"; empty otherwise.
    std::string field;
};

template <class T>
class Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

inline Error make_error(int code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace hotplug
