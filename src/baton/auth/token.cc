#include "baton/auth/token.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "baton/auth/secret.h"

namespace baton::auth {
namespace {

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string ApiToken::ToString() const { return fmt::format("{}{}_{}", kTokenPrefix, id, secret); }

Result<ApiToken> GenerateToken() {
  BATON_ASSIGN_OR_RETURN(std::string id, RandomHex(kTokenIdHexDigits / 2));
  BATON_ASSIGN_OR_RETURN(std::string secret, RandomHex(kTokenSecretHexDigits / 2));
  return ApiToken{std::move(id), std::move(secret)};
}

Result<ApiToken> ParseToken(std::string_view text) {
  constexpr size_t kLength = kTokenPrefix.size() + kTokenIdHexDigits + 1 + kTokenSecretHexDigits;
  if (text.size() != kLength || text.substr(0, kTokenPrefix.size()) != kTokenPrefix ||
      text[kTokenPrefix.size() + kTokenIdHexDigits] != '_') {
    return Unauthenticated(fmt::format(
        "malformed token: expected baton_<16 hex digits>_<64 hex digits> ({} characters), "
        "got {} characters",
        kLength, text.size()));
  }
  ApiToken t;
  t.id = std::string(text.substr(kTokenPrefix.size(), kTokenIdHexDigits));
  t.secret = std::string(text.substr(kTokenPrefix.size() + kTokenIdHexDigits + 1));
  if (!IsHex(t.id) || !IsHex(t.secret)) {
    return Unauthenticated("malformed token: id and secret must be lower-case hex digits");
  }
  return t;
}

std::string HashSecret(std::string_view secret) { return Sha256Hex(secret); }

Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return NotFound(fmt::format("{}: no such token file", path));
    return InvalidArgument(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string content(Trim(ss.str()));
  if (content.empty()) return InvalidArgument(fmt::format("{}: the token file is empty", path));
  return content;
}

Result<std::string> ReadTokenFile(const std::string& path) {
  BATON_ASSIGN_OR_RETURN(std::string content, ReadSecretFile(path));
  auto parsed = ParseToken(content);
  if (!parsed.ok()) {
    return InvalidArgument(
        fmt::format("{}: not a baton token ({})", path, parsed.status().message()));
  }
  return content;
}

Status WriteSecretFile(const std::string& path, std::string_view content) {
  std::error_code ec;
  const std::filesystem::path p(path);
  if (p.has_parent_path() && !std::filesystem::exists(p.parent_path(), ec)) {
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec) {
      return FailedPrecondition(
          fmt::format("{}: cannot create its directory: {}", path, ec.message()));
    }
    std::filesystem::permissions(p.parent_path(), std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return FailedPrecondition(fmt::format("{}: cannot write: {}", tmp, std::strerror(errno)));
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return FailedPrecondition(fmt::format("{}: cannot write: {}", tmp, std::strerror(e)));
    }
    done += static_cast<size_t>(n);
  }
  ::fchmod(fd, 0600);  // whatever the umask said
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return FailedPrecondition(fmt::format("{}: cannot write: {}", path, std::strerror(e)));
  }
  return Status::Ok();
}

}  // namespace baton::auth
