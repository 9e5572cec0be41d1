#include "baton/server/http_api.h"

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <charconv>
#include <cmath>
#include <chrono>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>

#include "baton/auth/credentials.h"
#include "baton/common/limits.h"
#include "baton/security/tls.h"
#include "baton/server/batond_tls.h"
#include "baton/server/grpc_services.h"
#include "baton/server/http_telemetry.h"
#include "baton/server/web_assets.h"
#include "baton/v1/agent.grpc.pb.h"

namespace baton::server {
namespace {

using json = nlohmann::json;
using metrics::HttpRequest;
using metrics::HttpResponse;

constexpr std::string_view kJson = "application/json; charset=utf-8";
// Most log bytes one request returns; the page asks again from the next offset.
constexpr int64_t kMaxLogBytes = 256 * 1024;
constexpr auto kAgentTimeout = std::chrono::seconds(5);
constexpr auto kCancelTimeout = std::chrono::seconds(10);
constexpr size_t kMaxParamLength = 253;

int HttpStatus(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
  }
  return 500;
}

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpResponse JsonResponse(std::string body) {
  HttpResponse r{200, std::string(kJson), std::move(body), {}};
  r.headers["Cache-Control"] = "no-store";
  return r;
}

HttpResponse Error(const Status& s) {
  HttpResponse r = JsonResponse(Dump(json{{"error", s.message()},
                                          {"code", std::string(StatusCodeName(s.code()))}}));
  r.status = HttpStatus(s.code());
  if (s.code() == StatusCode::kUnauthenticated) r.headers["WWW-Authenticate"] = "Bearer";
  return r;
}

// Protobuf JSON with the proto's field names and every field shown (as the CLI prints).
std::string ProtoJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(m, &out, o).ok()) return "null";
  return out;
}

// The query parameter `key` as an integer in [lo, hi]; `def` when absent.
Result<int64_t> IntParam(const HttpRequest& req, const std::string& key, int64_t def,
                         int64_t lo, int64_t hi) {
  auto it = req.params.find(key);
  if (it == req.params.end() || it->second.empty()) return def;
  int64_t v = 0;
  const std::string& t = it->second;
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || p != t.data() + t.size() || v < lo || v > hi) {
    return InvalidArgument(fmt::format("{}: '{}' is not a number in {}..{}", key,
                                       t.substr(0, 32), lo, hi));
  }
  return v;
}

Result<std::string> StringParam(const HttpRequest& req, const std::string& key) {
  auto it = req.params.find(key);
  if (it == req.params.end()) return std::string();
  if (it->second.size() > kMaxParamLength) {
    return InvalidArgument(fmt::format("{}: longer than {} characters", key, kMaxParamLength));
  }
  return it->second;
}

std::string NodeStateName(v1::NodeState s) {
  switch (s) {
    case v1::NODE_STATE_READY: return "ready";
    case v1::NODE_STATE_NOT_READY: return "not-ready";
    case v1::NODE_STATE_LOST: return "lost";
    case v1::NODE_STATE_DRAINED: return "drained";
    default: return "unknown";
  }
}

double SecondsSince(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return -1;
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  return double(now_us - google::protobuf::util::TimeUtil::TimestampToMicroseconds(ts)) / 1e6;
}

// One node in the heat map's compact form: per-GPU values as parallel arrays.
// `show(job id)`: whether the caller may see that job; others' jobs read "*".
json CompactNode(const ControlPlane::NodeSnapshot& s,
                 const std::function<bool(const std::string&)>& show) {
  const v1::Node& n = s.node;
  json jobs = json::array(), util = json::array(), mem = json::array(), temp = json::array(),
       power = json::array(), mem_total = json::array();
  for (int g = 0; g < n.gpus_size(); ++g) {
    const v1::GpuTelemetry& t = s.telemetry[static_cast<size_t>(g)];
    const std::string& job = s.gpu_jobs[static_cast<size_t>(g)];
    jobs.push_back(job.empty() || show(job) ? job : std::string("*"));
    // Whole numbers are plenty for a heat map and keep 1,000 nodes' update small.
    util.push_back(std::lround(t.utilization_percent()));
    mem.push_back(t.memory_used_mib());
    mem_total.push_back(n.gpus(g).memory_mib());
    temp.push_back(std::lround(t.temperature_c()));
    power.push_back(std::lround(t.power_w()));
  }
  return json{{"name", n.name()},
              {"rack", n.rack()},
              {"state", NodeStateName(n.state())},
              {"reason", n.reason()},
              {"model", n.gpus_size() ? n.gpus(0).model() : ""},
              {"allocated", n.gpus_allocated()},
              {"heartbeat_age_s", SecondsSince(n.last_heartbeat())},
              {"jobs", std::move(jobs)},
              {"util", std::move(util)},
              {"mem_used_mib", std::move(mem)},
              {"mem_total_mib", std::move(mem_total)},
              {"temp_c", std::move(temp)},
              {"power_w", std::move(power)}};
}

std::string EventsJson(const std::vector<v1::Event>& events) {
  std::string out = "[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i) out += ",";
    out += ProtoJson(events[i]);
  }
  return out + "]";
}

class Api {
 public:
  Api(ControlPlane* cp, Access* access, HttpApiOptions options)
      : cp_(cp), access_(access), options_(std::move(options)), assets_(options_.web_dir) {}

  using Handler = std::function<HttpResponse(const Identity&)>;
  // Authenticates the request (401) and, for cluster-wide views, checks kViewCluster;
  // handlers check their own objects' permissions.
  HttpResponse Guard(const HttpRequest& req, std::string_view action, const Handler& fn) const {
    auto who = access_->Authenticate(req, action);
    if (!who.ok()) return Error(who.status());
    return fn(*who);
  }

  // Whether `who` may see job `id` (for redacting the heat map); unknown ids are hidden.
  std::function<bool(const std::string&)> JobVisibility(const Identity& who) const {
    auto subtrees = access_->Viewable(who);
    if (!subtrees) return [](const std::string&) { return true; };
    return [this, subtrees = *std::move(subtrees)](const std::string& id) {
      auto jid = ParseJobId(id, "job");
      if (!jid.ok()) return false;
      auto job = cp_->Get(*jid);
      return job.ok() && access_->queues().Within(job->spec().queue(), subtrees);
    };
  }

  EventFilter Visible(const Identity& who, EventFilter f) const {
    if (auto subtrees = access_->Viewable(who)) {
      const QueueTree* tree = &access_->queues();
      f.queue_visible = [tree, subtrees = *std::move(subtrees)](const std::string& queue) {
        return tree->Within(queue, subtrees);
      };
    }
    return f;
  }

  HttpResponse WhoAmI(const Identity& who) const {
    json bindings = json::array();
    for (const auto& b : who.bindings) bindings.push_back(BindingName(b));
    json j{{"user", who.user}, {"token_id", who.token_id}, {"bindings", std::move(bindings)}};
    j["token_expires"] =
        who.token_expires ? json(FormatTime(*who.token_expires) + " UTC") : json(nullptr);
    return JsonResponse(Dump(j));
  }

  HttpResponse Asset(const HttpRequest& req) const {
    std::string name = req.path == "/" ? "index.html" : req.path.substr(std::string("/ui/").size());
    if (name.empty()) name = "index.html";
    auto data = assets_.Find(name);
    if (!data) {
      return HttpResponse{404, "text/plain; charset=utf-8",
                          fmt::format("not found: {}\n", req.path.substr(0, 200)), {}};
    }
    HttpResponse r{200, std::string(WebAssets::ContentType(name)), std::move(*data), {}};
    r.headers["Cache-Control"] = "no-cache";
    return r;
  }

  HttpResponse Overview() const {
    ControlPlaneStats s = cp_->Stats();
    return JsonResponse(Dump(json{
        {"epoch", cp_->events().epoch()},
        {"time", google::protobuf::util::TimeUtil::ToString(
                     google::protobuf::util::TimeUtil::GetCurrentTime())},
        {"jobs", {{"submitted", s.submitted}, {"finished", s.finished}, {"active", s.active},
                  {"pending", s.pending}, {"placed", s.placed}}},
        {"nodes", {{"ready", s.nodes_ready}, {"not_ready", s.nodes_not_ready},
                   {"lost", s.nodes_lost}}},
        {"gpus", {{"total", s.gpus_total}, {"allocated", s.gpus_allocated}}},
        {"sched", {{"rounds", s.rounds},
                   {"last_round_ms",
                    std::chrono::duration<double, std::milli>(s.last_round).count()}}},
        {"events_last_sequence", cp_->events().last_sequence()}}));
  }

  HttpResponse Cluster(const Identity& who) const {
    std::vector<ControlPlane::NodeSnapshot> fleet = cp_->Fleet();
    json nodes = json::array();
    const auto show = JobVisibility(who);
    for (const auto& s : fleet) nodes.push_back(CompactNode(s, show));
    return JsonResponse(Dump(json{{"epoch", cp_->events().epoch()}, {"nodes", std::move(nodes)}}));
  }

  HttpResponse Node(const Identity& who, const std::string& name) const {
    const auto show = JobVisibility(who);
    for (auto& s : cp_->Fleet()) {
      if (s.node.name() != name) continue;
      EventLog::Page events = cp_->events().List(Visible(who, EventFilter{"", name, 0}), 200);
      std::string gpus = "[";
      for (int g = 0; g < s.node.gpus_size(); ++g) {
        if (g) gpus += ",";
        const std::string& job = s.gpu_jobs[static_cast<size_t>(g)];
        gpus += fmt::format(R"({{"gpu":{},"job":"{}","telemetry":{}}})", ProtoJson(s.node.gpus(g)),
                            job.empty() || show(job) ? job : std::string("*"),
                            ProtoJson(s.telemetry[static_cast<size_t>(g)]));
      }
      gpus += "]";
      return JsonResponse(fmt::format(R"({{"node":{},"state":"{}","heartbeat_age_s":{},"gpus":{},"events":{}}})",
                                      ProtoJson(s.node), NodeStateName(s.node.state()),
                                      SecondsSince(s.node.last_heartbeat()), gpus,
                                      EventsJson(events.events)));
    }
    return Error(NotFound(fmt::format("node '{}' not found", name.substr(0, 200))));
  }

  HttpResponse Jobs(const Identity& who, const HttpRequest& req) const {
    JobFilter f;
    auto queue = StringParam(req, "queue");
    if (!queue.ok()) return Error(queue.status());
    f.queue = *queue;
    if (!f.queue.empty()) {
      Status s = access_->Check(who, Permission::kViewJobs, "http.jobs", "queue/" + f.queue,
                                access_->QueueResource(f.queue));
      if (!s.ok()) return Error(s);
    }
    f.within = access_->Viewable(who);
    auto state = StringParam(req, "state");
    if (!state.ok()) return Error(state.status());
    if (!state->empty()) {
      bool found = false;
      for (int i = 0; i < model::kJobStateCount; ++i) {
        const auto st = static_cast<model::JobState>(i);
        if (model::JobStateName(st) == *state) {
          f.state = st;
          found = true;
        }
      }
      if (!found) {
        return Error(InvalidArgument(fmt::format(
            "state: '{}' is not a job state (pending, scheduled, starting, running, "
            "succeeded, failed, cancelled)",
            state->substr(0, 32))));
      }
    }
    auto limit = IntParam(req, "limit", 100, 1, 1000);
    if (!limit.ok()) return Error(limit.status());
    auto token = StringParam(req, "page_token");
    if (!token.ok()) return Error(token.status());
    auto page = cp_->List(f, static_cast<int32_t>(*limit), *token);
    if (!page.ok()) return Error(page.status());
    v1::ListJobsResponse resp;
    for (auto& j : page->jobs) *resp.add_jobs() = std::move(j);
    resp.set_next_page_token(page->next_page_token);
    return JsonResponse(ProtoJson(resp));
  }

  // The job `id_text` names, if `who` may `p` it.
  Result<std::pair<JobId, v1::Job>> JobFor(const Identity& who, std::string_view action,
                                           Permission p, const std::string& id_text) const {
    BATON_ASSIGN_OR_RETURN(JobId id, ParseJobId(id_text, "job id"));
    BATON_ASSIGN_OR_RETURN(v1::Job job, cp_->Get(id));
    BATON_RETURN_IF_ERROR(
        access_->Check(who, p, action, fmt::format("job/{}", id), access_->JobResource(job)));
    return std::make_pair(id, std::move(job));
  }

  HttpResponse Job(const Identity& who, const std::string& id_text) const {
    auto job = JobFor(who, "http.job", Permission::kViewJobs, id_text);
    if (!job.ok()) return Error(job.status());
    return JsonResponse(ProtoJson(job->second));
  }

  HttpResponse Cancel(const Identity& who, const std::string& id_text) const {
    constexpr std::string_view kAction = "http.cancel";
    auto job = JobFor(who, kAction, Permission::kCancelJob, id_text);
    if (!job.ok()) return Error(job.status());
    const std::string object = fmt::format("job/{}", job->first);
    auto done = std::make_shared<std::promise<Result<v1::Job>>>();
    auto fut = done->get_future();
    cp_->Cancel(
        job->first, "cancelled from the dashboard",
        [done](Result<v1::Job> r) { done->set_value(std::move(r)); },
        access_->Origin(who, std::string(kAction)));
    if (fut.wait_for(kCancelTimeout) != std::future_status::ready) {
      return Error(Status(StatusCode::kUnavailable,
                          "cancel: not confirmed in time (is the store writable?)"));
    }
    Result<v1::Job> r = fut.get();
    if (!r.ok()) {
      access_->Failed(who, kAction, object, r.status());
      return Error(r.status());
    }
    return JsonResponse(ProtoJson(*r));
  }

  HttpResponse Logs(const Identity& who, const std::string& id_text,
                    const HttpRequest& req) const {
    auto job = JobFor(who, "http.logs", Permission::kViewJobs, id_text);
    if (!job.ok()) return Error(job.status());
    const JobId* id = &job->first;
    auto task = IntParam(req, "task", 0, 0, 1 << 20);
    auto rank = IntParam(req, "rank", 0, 0, 1 << 20);
    auto attempt = IntParam(req, "attempt", 0, 0, 1 << 20);
    auto offset = IntParam(req, "offset", 0, 0, INT64_MAX);
    for (const auto* r : {&task, &rank, &attempt, &offset}) {
      if (!r->ok()) return Error(r->status());
    }
    auto target = cp_->FindLogs(*id, static_cast<int32_t>(*task), static_cast<int32_t>(*attempt));
    if (!target.ok()) return Error(target.status());
    grpc::ChannelArguments args;  // an agent's log chunks are 64 KiB; refuse huge ones
    args.SetMaxReceiveMessageSize(limits::kMaxLogChunkMessageBytes);
    auto channel = security::MakeClientChannel(
        target->endpoint,
        options_.tls != nullptr ? options_.tls->AgentLogsTls(target->node)
                                : security::ClientTlsOptions{},
        args, target->token);
    auto stub = v1::AgentLogs::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kAgentTimeout);
    v1::LogsRequest lr;
    lr.set_job_id(std::to_string(id->value()));
    lr.set_task_index(static_cast<int32_t>(*task));
    lr.set_rank(static_cast<int32_t>(*rank));
    lr.set_attempt(target->attempt);
    lr.set_offset(*offset);
    auto reader = stub->Read(&ctx, lr);
    std::string data;
    int64_t start = *offset;
    bool first = true;
    v1::LogChunk chunk;
    while (reader->Read(&chunk)) {
      if (first) start = chunk.offset();
      first = false;
      data += chunk.data();
      if (static_cast<int64_t>(data.size()) >= kMaxLogBytes) {
        data.resize(static_cast<size_t>(kMaxLogBytes));
        ctx.TryCancel();
        break;
      }
    }
    grpc::Status s = reader->Finish();
    if (!s.ok() && s.error_code() != grpc::StatusCode::CANCELLED) {
      const StatusCode code = s.error_code() == grpc::StatusCode::NOT_FOUND
                                  ? StatusCode::kNotFound
                                  : s.error_code() == grpc::StatusCode::INVALID_ARGUMENT
                                        ? StatusCode::kInvalidArgument
                                        : StatusCode::kUnavailable;
      return Error(Status(code, fmt::format("logs from the agent at {}: {}", target->endpoint,
                                            s.error_message())));
    }
    return JsonResponse(Dump(json{{"attempt", target->attempt},
                                  {"offset", start},
                                  {"next_offset", start + static_cast<int64_t>(data.size())},
                                  {"data", data}}));
  }

  static HttpResponse FromBody(const baton::Result<std::string>& body) {
    if (!body.ok()) return Error(body.status());
    return JsonResponse(*body);
  }

  // A node's telemetry with the jobs `who` may not view shown as "*".
  HttpResponse NodeTelemetry(const Identity& who, const std::string& node,
                             const std::string& gpu) const {
    auto body = NodeTelemetryJson(*cp_, node, gpu);
    if (!body.ok() || !access_->Viewable(who)) return FromBody(body);
    json j = json::parse(*body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("gpus")) return FromBody(body);
    const auto show = JobVisibility(who);
    for (json& g : j["gpus"]) {
      if (!g.contains("job") || !g["job"].is_string()) continue;
      const std::string job = g["job"].get<std::string>();
      if (!job.empty() && !show(job)) g["job"] = "*";
    }
    return JsonResponse(Dump(j));
  }

  HttpResponse JobTelemetry(const Identity& who, const std::string& id_text,
                            const HttpRequest& req) const {
    auto job = JobFor(who, "http.job_telemetry", Permission::kViewJobs, id_text);
    if (!job.ok()) return Error(job.status());
    auto attempt = IntParam(req, "attempt", 0, 0, 1 << 20);
    if (!attempt.ok()) return Error(attempt.status());
    return FromBody(JobTelemetryJson(*cp_, job->first, static_cast<int32_t>(*attempt)));
  }

  HttpResponse Queues(const Identity& who) const {
    std::string out = R"({"queues":[)";
    bool first = true;
    for (const auto& q : cp_->Queues()) {
      if (!access_->CanView(who, q.name())) continue;
      if (!first) out += ",";
      first = false;
      out += ProtoJson(q);
    }
    ControlPlaneStats s = cp_->Stats();
    return JsonResponse(out + fmt::format(R"(],"gpus_total":{},"gpus_allocated":{}}})",
                                          s.gpus_total, s.gpus_allocated));
  }

  HttpResponse Events(const Identity& who, const HttpRequest& req) const {
    auto job = StringParam(req, "job");
    auto node = StringParam(req, "node");
    if (!job.ok()) return Error(job.status());
    if (!node.ok()) return Error(node.status());
    auto after = IntParam(req, "after", 0, 0, INT64_MAX);
    if (!after.ok()) return Error(after.status());
    auto limit = IntParam(req, "limit", 200, 1, static_cast<int64_t>(EventLog::kMaxList));
    if (!limit.ok()) return Error(limit.status());
    EventLog::Page page =
        cp_->events().List(Visible(who, EventFilter{*job, *node, *after}),
                           static_cast<size_t>(*limit));
    return JsonResponse(fmt::format(R"({{"epoch":"{}","last_sequence":{},"events":{}}})",
                                    cp_->events().epoch(), page.last_sequence,
                                    EventsJson(page.events)));
  }

  // GET /api/v1/jobs/ID[/logs], /api/v1/nodes/NAME.
  HttpResponse GetApi(const HttpRequest& req) const {
    const std::string& p = req.path;
    constexpr std::string_view kJobs = "/api/v1/jobs/";
    constexpr std::string_view kNodes = "/api/v1/nodes/";
    if (p.rfind(kJobs, 0) == 0) {
      std::string rest = p.substr(kJobs.size());
      const size_t slash = rest.find('/');
      if (slash == std::string::npos) {
        return Guard(req, "http.job", [&](const Identity& who) { return Job(who, rest); });
      }
      if (rest.substr(slash) == "/logs") {
        return Guard(req, "http.logs", [&](const Identity& who) {
          return Logs(who, rest.substr(0, slash), req);
        });
      }
      if (rest.substr(slash) == "/telemetry") {
        return Guard(req, "http.job_telemetry", [&](const Identity& who) {
          return JobTelemetry(who, rest.substr(0, slash), req);
        });
      }
    } else if (p.rfind(kNodes, 0) == 0) {
      // NAME, NAME/telemetry, NAME/gpus/GPU/telemetry (http_telemetry.h).
      std::string rest = p.substr(kNodes.size());
      const size_t slash = rest.find('/');
      if (slash == std::string::npos) {
        return Guard(req, "http.node", [&](const Identity& who) { return Node(who, rest); });
      }
      const std::string name = rest.substr(0, slash), tail = rest.substr(slash);
      constexpr std::string_view kGpus = "/gpus/", kTelemetry = "/telemetry";
      if (tail == kTelemetry) {
        return Guard(req, "http.node_telemetry",
                     [&](const Identity& who) { return NodeTelemetry(who, name, ""); });
      }
      if (tail.rfind(kGpus, 0) == 0 && tail.size() > kGpus.size() + kTelemetry.size() &&
          tail.compare(tail.size() - kTelemetry.size(), kTelemetry.size(), kTelemetry) == 0) {
        const std::string gpu =
            tail.substr(kGpus.size(), tail.size() - kGpus.size() - kTelemetry.size());
        if (gpu.find('/') == std::string::npos) {
          return Guard(req, "http.node_telemetry",
                       [&](const Identity& who) { return NodeTelemetry(who, name, gpu); });
        }
      }
    }
    // Unknown routes need a token too: they must not tell strangers what exists.
    return Guard(req, "http.get", [&](const Identity&) {
      return Error(NotFound(fmt::format("no such API: GET {}", p.substr(0, 200))));
    });
  }

  HttpResponse PostApi(const HttpRequest& req) const {
    const std::string& p = req.path;
    constexpr std::string_view kJobs = "/api/v1/jobs/";
    constexpr std::string_view kCancel = "/cancel";
    if (p.rfind(kJobs, 0) == 0 && p.size() > kJobs.size() + kCancel.size() &&
        p.compare(p.size() - kCancel.size(), kCancel.size(), kCancel) == 0) {
      std::string id = p.substr(kJobs.size(), p.size() - kJobs.size() - kCancel.size());
      return Guard(req, "http.cancel", [&](const Identity& who) { return Cancel(who, id); });
    }
    return Guard(req, "http.post", [&](const Identity&) {
      return Error(NotFound(fmt::format("no such API: POST {}", p.substr(0, 200))));
    });
  }

 private:
  ControlPlane* cp_;
  Access* access_;
  HttpApiOptions options_;
  WebAssets assets_;
};

}  // namespace

Status ServeHttpApi(metrics::HttpServer& http, ControlPlane* cp, Access* access,
                    HttpApiOptions options) {
  auto api = std::make_shared<Api>(cp, access, std::move(options));
  // A body over the limit is refused by the HTTP server before any route; audit it here.
  http.OnBodyTooLarge([access](const HttpRequest& req) {
    auto it = req.headers.find("content-length");
    access->RefusedHttp(
        req, "http.request",
        fmt::format("{} request with a body of {} bytes; at most {}", req.method.substr(0, 16),
                    it == req.headers.end() ? "?" : it->second.substr(0, 20),
                    metrics::kMaxPostBody));
  });
  // A route behind Guard: authenticated, then `fn(api, identity, request)`.
  auto guarded = [&](std::string_view path, std::string_view action, auto fn) {
    return http.Handle(path, [api, action = std::string(action), fn](const HttpRequest& req) {
      return api->Guard(req, action, [&](const Identity& who) { return fn(*api, who, req); });
    });
  };
  BATON_RETURN_IF_ERROR(http.Handle("/", [api](const HttpRequest& r) { return api->Asset(r); }));
  BATON_RETURN_IF_ERROR(http.HandlePrefix(
      "/ui/", [api](const HttpRequest& r) { return api->Asset(r); }));
  BATON_RETURN_IF_ERROR(guarded("/api/v1/whoami", "http.whoami",
                                [](const Api& a, const Identity& who, const HttpRequest&) {
                                  return a.WhoAmI(who);
                                }));
  BATON_RETURN_IF_ERROR(guarded("/api/v1/overview", "http.overview",
                                [](const Api& a, const Identity&, const HttpRequest&) {
                                  return a.Overview();
                                }));
  BATON_RETURN_IF_ERROR(guarded("/api/v1/cluster", "http.cluster",
                                [](const Api& a, const Identity& who, const HttpRequest&) {
                                  return a.Cluster(who);
                                }));
  BATON_RETURN_IF_ERROR(guarded("/api/v1/jobs", "http.jobs",
                                [](const Api& a, const Identity& who, const HttpRequest& r) {
                                  return a.Jobs(who, r);
                                }));
  BATON_RETURN_IF_ERROR(guarded("/api/v1/queues", "http.queues",
                                [](const Api& a, const Identity& who, const HttpRequest&) {
                                  return a.Queues(who);
                                }));
  BATON_RETURN_IF_ERROR(guarded("/api/v1/events", "http.events",
                                [](const Api& a, const Identity& who, const HttpRequest& r) {
                                  return a.Events(who, r);
                                }));
  BATON_RETURN_IF_ERROR(http.HandlePrefix(
      "/api/", [api](const HttpRequest& r) { return api->GetApi(r); }));
  BATON_RETURN_IF_ERROR(http.HandlePost(
      "/api/", [api](const HttpRequest& r) { return api->PostApi(r); }));
  return Status::Ok();
}

metrics::HttpResponse HttpError(const Status& s) { return Error(s); }

}  // namespace baton::server
