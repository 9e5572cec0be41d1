#include "baton/security/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace baton::security {

Result<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound(fmt::format("{}: no such file", path));
    return FailedPrecondition(fmt::format("{}: {}", path, std::strerror(errno)));
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      close(fd);
      return FailedPrecondition(fmt::format("{}: {}", path, std::strerror(e)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      close(fd);
      return InvalidArgument(fmt::format("{}: larger than {} bytes", path, max_bytes));
    }
  }
  close(fd);
  return out;
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  const std::filesystem::path target(path);
  if (target.has_parent_path() && !std::filesystem::exists(target.parent_path())) {
    std::error_code ec;
    std::filesystem::create_directories(target.parent_path(), ec);
    if (ec) {
      return FailedPrecondition(fmt::format("{}: cannot create directory: {}",
                                            target.parent_path().string(), ec.message()));
    }
    chmod(target.parent_path().c_str(), 0700);
  }
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return FailedPrecondition(fmt::format("{}: {}", tmp, std::strerror(errno)));
  // The mode again: open() applies the umask, and an old .tmp keeps its mode.
  fchmod(fd, mode);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return FailedPrecondition(fmt::format("{}: {}", tmp, std::strerror(e)));
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(tmp.c_str());
    return FailedPrecondition(fmt::format("{}: {}", tmp, std::strerror(errno)));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    unlink(tmp.c_str());
    return FailedPrecondition(fmt::format("{}: {}", path, std::strerror(e)));
  }
  return Status::Ok();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace baton::security
