// Checkpoint watching: what the agent reports from a task's BATON_CHECKPOINT_DIR.
//
// A task writes checkpoints into its checkpoint directory (a file or a directory per
// checkpoint). The agent polls the directory on its own timer (Agent::Tick, once a
// second) rather than with inotify: the directory may sit on a network filesystem where
// inotify sees nothing, and a one-second poll of one directory per running job is cheap.
// The newest entry by modification time is the latest checkpoint; entries whose name
// starts with "." or ends in ".tmp" / ".partial" are writes in progress and ignored, so a
// task should write to such a name and rename it into place when it is complete.
//
// Not responsible for: validating checkpoint contents, retention, copying anywhere.
// Thread-safety: free functions; safe from any thread.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "baton/common/time.h"

namespace baton::agent {

struct CheckpointEntry {
  std::string path;  // full path of the newest checkpoint
  Time mtime;        // its modification time
  friend bool operator==(const CheckpointEntry&, const CheckpointEntry&) = default;
};

// The newest complete entry directly under `dir`, or nullopt when there is none or the
// directory cannot be read. Ties on mtime break on the greater name (step-10 < step-9 is
// not a concern: ties are rare and any complete entry is a valid checkpoint).
std::optional<CheckpointEntry> NewestCheckpoint(const std::filesystem::path& dir);

// Whether a directory entry's name marks a write in progress.
bool IsPartialCheckpointName(const std::string& name);

}  // namespace baton::agent
