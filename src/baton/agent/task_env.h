// The environment the agent adds to each of a task's processes, besides the job's own
// (StartTask.env) and the rank variables:
//   - GPU visibility: CUDA_VISIBLE_DEVICES (`visible`: the node's GPU indices, with
//     CUDA_DEVICE_ORDER=PCI_BUS_ID so CUDA numbers them as NVML does, or a MIG
//     instance's "MIG-..." UUID) and
//     NVIDIA_VISIBLE_DEVICES (the GPUs' UUIDs, "void" for none) for the NVIDIA container
//     runtime and tools that read it. These make a task *see* only its GPUs; they do not
//     stop a process from opening /dev/nvidia<N> itself (docs/isolation.md: what device
//     cgroups would add).
//   - identity of the user the task runs as: USER and LOGNAME, and HOME — the account's
//     home when it is an existing directory, else the task's private directory (nobody's
//     home is /nonexistent; tools such as torch want a writable HOME for caches).
// Variables the job sets itself win over HOME, USER and LOGNAME.
//
// Thread-safety: a pure function (it only stats the home directory).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "baton/agent/launch/task_user.h"
#include "baton/v1/agent.pb.h"

namespace baton::agent {

// `creds` null = a simulated agent (no identity variables); `task_dir` the task's private
// directory.
void AddTaskEnvironment(const v1::StartTask& start, const std::vector<std::string>& visible,
                        const TaskCredentials* creds, const std::string& task_dir,
                        std::map<std::string, std::string>* env);

}  // namespace baton::agent
