//! What BI tools send that DataFusion cannot answer as written, rewritten before it is parsed for
//! good. Only catalog introspection is touched: a user's own query reaches the engine as sent.
//!
//! - A function name cast to `regproc` (`typinput = 'pg_catalog.array_in'::regproc`, DBeaver)
//!   becomes the name itself, which is how `datafusion-pg-catalog`'s `pg_type` holds those
//!   columns.
//! - A correlated scalar subquery over catalog tables that does not aggregate (SQLAlchemy's
//!   column reflection: `(SELECT pg_get_expr(…) FROM pg_attrdef WHERE … = attrelid)`) gets its
//!   one column wrapped in `MAX(…)`: DataFusion plans a correlated scalar subquery only when it
//!   aggregates. PostgreSQL would fail where such a subquery returns two rows; none of these
//!   catalog lookups can.
//! - `CASE WHEN c THEN (such a subquery) [ELSE NULL] END` becomes the subquery with `c` added to
//!   its `WHERE`: the same answer (no row when `c` is false or NULL, so NULL), and a form
//!   DataFusion can decorrelate (it cannot inside a `CASE`).

use datafusion::sql::sqlparser::ast::{
    Expr, GroupByExpr, Query, Select, SelectItem, SetExpr, TableFactor, visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use std::borrow::Cow;
use std::ops::ControlFlow;

/// `sql`, rewritten where a client's catalog query needs it; unchanged otherwise.
pub fn compat(sql: &str) -> Cow<'_, str> {
    let text = regproc_names(sql);
    if !text.to_ascii_lowercase().contains("(select") {
        return text;
    }
    let Ok(mut statements) = Parser::parse_sql(&PostgreSqlDialect {}, &text) else { return text };
    let mut changed = false;
    let _ = visit_expressions_mut(&mut statements, |e| {
        match e {
            Expr::Subquery(q) => changed |= aggregate_catalog_lookup(q),
            Expr::Case { .. } => changed |= case_into_lookup(e),
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    if !changed {
        return text;
    }
    let joined: Vec<String> = statements.iter().map(ToString::to_string).collect();
    Cow::Owned(joined.join("; "))
}

/// `'pg_catalog.name'::regproc` → `'name'`.
fn regproc_names(sql: &str) -> Cow<'_, str> {
    const CAST: &str = "'::regproc";
    if !sql.contains(CAST) {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find(CAST) {
        let before = &rest[..at];
        match before.rfind('\'') {
            Some(open) => {
                let name = &before[open + 1..];
                out.push_str(&before[..=open]);
                out.push_str(name.strip_prefix("pg_catalog.").unwrap_or(name));
                out.push('\'');
            }
            None => out.push_str(&rest[..at + CAST.len()]),
        }
        rest = &rest[at + CAST.len()..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Wraps the one column of a non-aggregating subquery over catalog tables in `MAX(…)`; whether
/// it did.
fn aggregate_catalog_lookup(q: &mut Query) -> bool {
    let SetExpr::Select(select) = q.body.as_mut() else { return false };
    if !reads_only_catalogs(select) || !matches!(&select.group_by, GroupByExpr::Expressions(g, _) if g.is_empty()) {
        return false;
    }
    let [item] = select.projection.as_mut_slice() else { return false };
    let expr = match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
        _ => return false,
    };
    let text = expr.to_string();
    let upper = text.to_ascii_uppercase();
    let aggregates = ["COUNT(", "SUM(", "MAX(", "MIN(", "AVG(", "_AGG(", "BOOL_AND(", "BOOL_OR(", "EVERY("];
    if aggregates.iter().any(|a| upper.contains(a)) {
        return false;
    }
    let dialect = PostgreSqlDialect {};
    match Parser::new(&dialect).try_with_sql(&format!("MAX({text})")).and_then(|mut p| p.parse_expr()) {
        Ok(wrapped) => {
            *expr = wrapped;
            true
        }
        Err(_) => false,
    }
}

/// `CASE WHEN c THEN (SELECT MAX(x) FROM catalog WHERE w) [ELSE NULL] END` →
/// `(SELECT MAX(x) FROM catalog WHERE (w) AND (c))`; whether it did. The subquery has been
/// visited (and aggregated) before its `CASE`.
fn case_into_lookup(e: &mut Expr) -> bool {
    let Expr::Case { operand: None, conditions, else_result, .. } = e else { return false };
    let no_else = match else_result {
        None => true,
        Some(other) => matches!(other.as_ref(), Expr::Value(v) if v.to_string().eq_ignore_ascii_case("NULL")),
    };
    let [when] = conditions.as_slice() else { return false };
    let Expr::Subquery(q) = &when.result else { return false };
    let SetExpr::Select(select) = q.body.as_ref() else { return false };
    let aggregated = matches!(select.projection.as_slice(), [SelectItem::UnnamedExpr(x) | SelectItem::ExprWithAlias { expr: x, .. }]
        if x.to_string().starts_with("MAX("));
    if !no_else || !aggregated || !reads_only_catalogs(select) {
        return false;
    }
    let condition = when.condition.clone();
    let mut q = q.clone();
    let SetExpr::Select(select) = q.body.as_mut() else { return false };
    select.selection = Some(match select.selection.take() {
        Some(w) => Expr::BinaryOp {
            left: Box::new(Expr::Nested(Box::new(w))),
            op: datafusion::sql::sqlparser::ast::BinaryOperator::And,
            right: Box::new(Expr::Nested(Box::new(condition))),
        },
        None => condition,
    });
    *e = Expr::Subquery(q);
    true
}

/// Whether every relation the select reads is a catalog table (`pg_catalog.…`,
/// `information_schema.…`, or a bare `pg_…` name).
fn reads_only_catalogs(select: &Select) -> bool {
    let catalog = |f: &TableFactor| match f {
        TableFactor::Table { name, .. } => {
            let n = name.to_string().to_ascii_lowercase().replace('"', "");
            n.starts_with("pg_catalog.") || n.starts_with("information_schema.") || n.starts_with("pg_")
        }
        _ => false,
    };
    !select.from.is_empty()
        && select.from.iter().all(|t| catalog(&t.relation) && t.joins.iter().all(|j| catalog(&j.relation)))
}

#[cfg(test)]
mod tests {
    use super::compat;

    #[test]
    fn regproc_literals_become_names() {
        assert_eq!(
            compat("SELECT typinput='pg_catalog.array_in'::regproc AS a FROM pg_type"),
            "SELECT typinput='array_in' AS a FROM pg_type"
        );
        assert_eq!(compat("SELECT 'x'::regproc"), "SELECT 'x'");
        assert_eq!(compat("SELECT 1"), "SELECT 1");
    }

    #[test]
    fn only_non_aggregating_catalog_subqueries_are_wrapped() {
        let reflected = compat(
            "SELECT a.attname, (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d \
             WHERE d.adrelid = a.attrelid) AS dflt FROM pg_catalog.pg_attribute a",
        );
        assert!(
            reflected.contains("(SELECT MAX(pg_get_expr(d.adbin, d.adrelid)) FROM pg_catalog.pg_attrdef"),
            "{reflected}"
        );
        // a user's query over the warehouse: as sent
        let user = "SELECT o.order_key, (SELECT c.country FROM dim_customer c WHERE c.customer_key = o.customer_key) FROM fact_order o";
        assert_eq!(compat(user), user);
        // inside a CASE: the condition moves into the lookup
        let cased = compat(
            "SELECT CASE WHEN a.atthasdef THEN (SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_catalog.pg_attrdef d \
             WHERE d.adrelid = a.attrelid) ELSE NULL END AS dflt FROM pg_catalog.pg_attribute a",
        );
        assert_eq!(
            cased,
            "SELECT (SELECT MAX(pg_get_expr(d.adbin, d.adrelid)) FROM pg_catalog.pg_attrdef d \
             WHERE (d.adrelid = a.attrelid) AND (a.atthasdef)) AS dflt FROM pg_catalog.pg_attribute a"
        );
        // an aggregating subquery: as sent
        let counted = "SELECT (SELECT COUNT(*) FROM pg_catalog.pg_class c WHERE c.relnamespace = n.oid) FROM pg_catalog.pg_namespace n";
        assert_eq!(compat(counted), counted);
    }
}
