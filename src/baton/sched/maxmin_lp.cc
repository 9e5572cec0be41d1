#include "baton/sched/maxmin_lp.h"

#include <glpk.h>

#include <algorithm>
#include <memory>

#include <fmt/format.h>

namespace baton::sched {

Result<std::vector<double>> SolveMaxMin(const MaxMinProblem& p) {
  const size_t cells = static_cast<size_t>(p.jobs) * static_cast<size_t>(p.types);
  if (p.jobs < 0 || p.types < 0 || p.value.size() != cells ||
      p.demand.size() != static_cast<size_t>(p.jobs) ||
      p.capacity.size() != static_cast<size_t>(p.types)) {
    return InvalidArgument("max-min LP: sizes of value, demand and capacity do not match");
  }
  std::vector<double> x(cells, 0.0);
  // Columns: one per allowed (job, type) cell, then z.
  std::vector<int> col_of(cells, 0);
  int cols = 0;
  std::vector<bool> has_any(static_cast<size_t>(p.jobs), false);
  for (size_t c = 0; c < cells; ++c) {
    if (p.value[c] > 0) {
      col_of[c] = ++cols;
      has_any[c / static_cast<size_t>(p.types)] = true;
    }
  }
  if (cols == 0) return x;
  if (p.types == 1) {
    // One GPU type: every value is the job's only rate over itself, so the optimum is
    // closed-form: the same share min(1, capacity / demand) for every job that can run.
    double demand = 0;
    for (int j = 0; j < p.jobs; ++j) demand += has_any[j] ? std::max(1e-9, p.demand[j]) : 0;
    const double share = std::min(1.0, std::max(0.0, p.capacity[0]) / demand);
    for (int j = 0; j < p.jobs; ++j) x[j] = has_any[j] ? share : 0.0;
    return x;
  }
  const int z_col = cols + 1;

  glp_term_out(GLP_OFF);  // GLPK prints to stdout by default (per-thread setting)
  std::unique_ptr<glp_prob, void (*)(glp_prob*)> lp(glp_create_prob(), glp_delete_prob);
  glp_set_obj_dir(lp.get(), GLP_MAX);
  glp_add_cols(lp.get(), z_col);
  const double eps = 1e-3 / std::max(1, p.jobs);
  for (size_t c = 0; c < cells; ++c) {
    if (col_of[c] == 0) continue;
    glp_set_col_bnds(lp.get(), col_of[c], GLP_DB, 0.0, 1.0);
    glp_set_obj_coef(lp.get(), col_of[c], eps * p.value[c]);
  }
  glp_set_col_bnds(lp.get(), z_col, GLP_LO, 0.0, 0.0);
  glp_set_obj_coef(lp.get(), z_col, 1.0);

  // Rows: per job "effective - z >= 0" and "sum x <= 1"; per type "sum demand x <= cap".
  std::vector<int> ia{0}, ja{0};
  std::vector<double> ar{0.0};
  int row = 0;
  const int first_row = 1;
  int jobs_with_rows = 0;
  for (int j = 0; j < p.jobs; ++j) jobs_with_rows += has_any[j] ? 1 : 0;
  glp_add_rows(lp.get(), 2 * jobs_with_rows + p.types);
  for (int j = 0; j < p.jobs; ++j) {
    if (!has_any[j]) continue;
    const int fair = first_row + row++;
    const int one = first_row + row++;
    glp_set_row_bnds(lp.get(), fair, GLP_LO, 0.0, 0.0);
    glp_set_row_bnds(lp.get(), one, GLP_UP, 0.0, 1.0);
    for (int t = 0; t < p.types; ++t) {
      const size_t c = static_cast<size_t>(j) * p.types + t;
      if (col_of[c] == 0) continue;
      ia.push_back(fair), ja.push_back(col_of[c]), ar.push_back(p.value[c]);
      ia.push_back(one), ja.push_back(col_of[c]), ar.push_back(1.0);
    }
    ia.push_back(fair), ja.push_back(z_col), ar.push_back(-1.0);
  }
  for (int t = 0; t < p.types; ++t) {
    const int cap = first_row + row++;
    glp_set_row_bnds(lp.get(), cap, GLP_UP, 0.0, std::max(0.0, p.capacity[t]));
    for (int j = 0; j < p.jobs; ++j) {
      const size_t c = static_cast<size_t>(j) * p.types + t;
      if (col_of[c] == 0) continue;
      ia.push_back(cap), ja.push_back(col_of[c]), ar.push_back(std::max(1e-9, p.demand[j]));
    }
  }
  glp_load_matrix(lp.get(), static_cast<int>(ia.size()) - 1, ia.data(), ja.data(), ar.data());
  glp_smcp parm;
  glp_init_smcp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  glp_scale_prob(lp.get(), GLP_SF_AUTO);
  const int rc = glp_simplex(lp.get(), &parm);
  if (rc != 0 || glp_get_status(lp.get()) != GLP_OPT) {
    return Internal(fmt::format("max-min LP: GLPK simplex failed (return code {}, status {})",
                                rc, glp_get_status(lp.get())));
  }
  for (size_t c = 0; c < cells; ++c) {
    if (col_of[c] != 0) x[c] = std::clamp(glp_get_col_prim(lp.get(), col_of[c]), 0.0, 1.0);
  }
  return x;
}

}  // namespace baton::sched
