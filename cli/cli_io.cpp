#include "cli_io.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace bfast::cli {

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

bool read_input(const std::string& path, std::string& data, std::string& error) {
  const bool is_stdin = path == "-";
  const int fd = is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  data.clear();
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      error = (is_stdin ? std::string("stdin") : path) + ": " + std::strerror(errno);
      if (!is_stdin) ::close(fd);
      return false;
    }
    data.append(buf, static_cast<std::size_t>(n));
  }
  if (!is_stdin) ::close(fd);
  return true;
}

bool write_output(const std::string& path, std::string_view data, bool binary,
                  std::string& error) {
  const bool is_stdout = path == "-";
  if (is_stdout && binary && stdout_is_terminal()) {
    error = "refusing to write binary output to a terminal; use -o FILE or redirect stdout";
    return false;
  }
  const int fd = is_stdout ? STDOUT_FILENO
                           : ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = (is_stdout ? std::string("stdout") : path) + ": " + std::strerror(errno);
      if (!is_stdout) ::close(fd);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (!is_stdout && ::close(fd) != 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace bfast::cli
