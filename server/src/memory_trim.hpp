// Gives freed heap memory back to the system after a crowd of connections has gone. glibc keeps
// what sessions free in its arenas, so without this the RSS of a burst of 10,000 connections
// stays after they close; HAProxy trims in its pool collector for the same reason.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>

namespace bfast::server {

class memory_trimmer {
 public:
  // A crowd smaller than this leaves too little behind to be worth a trim.
  static constexpr std::int64_t min_crowd = 256;
  static constexpr std::chrono::seconds min_interval{1};

  // The acceptor tells it how many connections are open after each accept.
  void note_open(std::int64_t open) noexcept;
  // A session about to close; `open` is the count including it. Trims when the last
  // connection of a large enough crowd goes, at most once per interval.
  void note_closing(std::int64_t open) noexcept;

 private:
  std::atomic<std::int64_t> peak_{0};
  std::atomic<std::int64_t> last_trim_ns_{0};
};

}  // namespace bfast::server
