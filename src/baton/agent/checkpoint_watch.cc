#include "baton/agent/checkpoint_watch.h"

#include <sys/stat.h>

#include <chrono>
#include <system_error>

namespace baton::agent {

bool IsPartialCheckpointName(const std::string& name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return name.empty() || name[0] == '.' || ends_with(".tmp") || ends_with(".partial");
}

std::optional<CheckpointEntry> NewestCheckpoint(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return std::nullopt;
  std::optional<CheckpointEntry> best;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const std::string name = it->path().filename().string();
    if (IsPartialCheckpointName(name)) continue;
    struct stat st;
    if (::stat(it->path().c_str(), &st) != 0) continue;  // vanished meanwhile
    const Time mtime = Time(std::chrono::duration_cast<Duration>(
        std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    CheckpointEntry e{it->path().string(), mtime};
    if (!best || e.mtime > best->mtime || (e.mtime == best->mtime && e.path > best->path)) {
      best = std::move(e);
    }
  }
  return best;
}

}  // namespace baton::agent
