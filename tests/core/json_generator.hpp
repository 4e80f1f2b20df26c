// Random JSON documents for property tests: deep, wide, many keys, numbers at the edges of every
// tag, strings with every kind of escape, duplicate keys and random whitespace. Some documents
// are made unrepresentable on purpose, and say which reason they must be refused with.
#pragma once
#include <cstdint>
#include <random>
#include <string>

#include "bfast/status.hpp"

namespace bfast::test {

struct generated_document {
  std::string text;
  transcode_error expected = transcode_error::ok;
  std::string shape;  // for failure messages
};

class json_generator {
 public:
  explicit json_generator(std::uint64_t seed) : rng_(seed) {}
  [[nodiscard]] generated_document document();

 private:
  void value(std::string& out, int depth);
  void array(std::string& out, int depth, std::size_t count);
  void object(std::string& out, int depth, std::size_t count);
  void number(std::string& out);
  void integer(std::string& out);
  void floating(std::string& out);
  void string(std::string& out, std::size_t max_chars);
  std::string key();
  void ws(std::string& out);
  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  std::mt19937_64 rng_;
  int depth_limit_ = 8;
  std::size_t budget_ = 0;  // values left, keeps documents small
  bool pretty_ws_ = false;
};

}  // namespace bfast::test
