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
//! - `information_schema._pg_expandarray(a)`, a set-returning function in a select list (pgjdbc's
//!   primary keys and indexes), becomes `unnest(_pg_expandarray(a))`: the same rows, one per
//!   element, zipped with any other `unnest` of the list as PostgreSQL zips set-returning
//!   functions. `_pg_expandarray` gives the list of `(x, n)` records (`keys.rs`).
//! - A record's field, `(expr).name`, becomes `get_field(expr, 'name')`: DataFusion has no dot
//!   access on an expression.
//! - A column cast to `regclass` in a select list becomes `relation_name(column)`, the name
//!   PostgreSQL prints (`keys.rs`).
//! - `ARRAY(SELECT … FROM unnest(….reloptions))` (psql's `\d+`) becomes NULL.
//! - `generate_subscripts(a, 1)` in a select list (SQLAlchemy's inspector) becomes
//!   `unnest(generate_series(1, cardinality(a)))`.

use datafusion::sql::sqlparser::ast::{
    AccessExpr, Expr, FunctionArguments, GroupByExpr, Query, Select, SelectItem, SetExpr, TableFactor, VisitMut,
    VisitorMut, visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use std::borrow::Cow;
use std::ops::ControlFlow;

/// `sql`, rewritten where a client's catalog query needs it; unchanged otherwise.
pub fn compat(sql: &str) -> Cow<'_, str> {
    let text = regproc_names(sql);
    let lower = text.to_ascii_lowercase();
    let shapes = ["(select", "_pg_expandarray", "regclass", "generate_subscripts"];
    if !shapes.iter().any(|s| lower.contains(s)) {
        return text;
    }
    let Ok(mut statements) = Parser::parse_sql(&PostgreSqlDialect {}, &text) else { return text };
    let mut names = RegclassNames(false);
    let _ = statements.visit(&mut names);
    let mut changed = names.0;
    let _ = visit_expressions_mut(&mut statements, |e| {
        match e {
            Expr::Subquery(q) => changed |= aggregate_catalog_lookup(q),
            Expr::Case { .. } => changed |= case_into_lookup(e),
            _ if is_expandarray(e) => {
                changed |= replace(e, |text| {
                    let args = text.split_once('(').map_or("", |(_, rest)| rest);
                    format!("unnest(_pg_expandarray({args})")
                })
            }
            Expr::CompoundFieldAccess { .. } => changed |= field_access(e),
            _ if is_function(e, "generate_subscripts") => changed |= subscripts(e),
            Expr::Function(f) if f.name.to_string().eq_ignore_ascii_case("array") => changed |= array_of_subquery(e),
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

/// Turns a column cast to `regclass` in a select list (`conrelid::pg_catalog.regclass AS
/// ontable`, psql's "Referenced by") into the relation's name, as PostgreSQL prints a regclass:
/// `relation_name(conrelid)`. A cast of a literal (`'fact_order'::regclass`, a lookup by name)
/// is `datafusion-pg-catalog`'s. Its flag says whether it changed anything.
struct RegclassNames(bool);

impl VisitorMut for RegclassNames {
    type Break = ();

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        let SetExpr::Select(select) = q.body.as_mut() else { return ControlFlow::Continue(()) };
        for item in &mut select.projection {
            let (SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. }) = item else { continue };
            let Expr::Cast { expr, data_type, .. } = &*e else { continue };
            if data_type.to_string().to_ascii_lowercase().ends_with("regclass")
                && !matches!(expr.as_ref(), Expr::Value(_))
            {
                let column = expr.to_string();
                self.0 |= replace(e, |_| format!("relation_name({column})"));
            }
        }
        ControlFlow::Continue(())
    }
}

/// Whether `e` calls the function `name` (with or without `pg_catalog.`).
fn is_function(e: &Expr, name: &str) -> bool {
    matches!(e, Expr::Function(f)
        if f.name.to_string().replace('"', "").to_ascii_lowercase().trim_start_matches("pg_catalog.") == name)
}

/// `generate_subscripts(a, 1)`, a set-returning function in a select list (SQLAlchemy's keys
/// and indexes, beside `unnest(a)`) → `unnest(generate_series(1, cardinality(a)))`: the same
/// subscripts, zipped with the `unnest` as PostgreSQL zips them. Whether it did.
fn subscripts(e: &mut Expr) -> bool {
    let Expr::Function(f) = &*e else { return false };
    let FunctionArguments::List(list) = &f.args else { return false };
    let [array, dim] = list.args.as_slice() else { return false };
    if dim.to_string().trim() != "1" && !dim.to_string().starts_with('$') {
        return false;
    }
    let array = array.to_string();
    replace(e, |_| format!("unnest(generate_series(1, CAST(cardinality({array}) AS BIGINT)))"))
}

/// Whether `e` calls pgjdbc's `information_schema._pg_expandarray`.
fn is_expandarray(e: &Expr) -> bool {
    matches!(e, Expr::Function(f)
        if f.name.to_string().replace('"', "").eq_ignore_ascii_case("information_schema._pg_expandarray"))
}

/// Replaces `e` with the expression `rewrite` makes of its text; whether it did.
fn replace(e: &mut Expr, rewrite: impl FnOnce(&str) -> String) -> bool {
    let text = rewrite(&e.to_string());
    match Parser::new(&PostgreSqlDialect {}).try_with_sql(&text).and_then(|mut p| p.parse_expr()) {
        Ok(new) => {
            *e = new;
            true
        }
        Err(_) => false,
    }
}

/// `(expr).a.b` → `get_field(get_field(expr, 'a'), 'b')`; whether it did (only an access by
/// names: a subscript stays).
fn field_access(e: &mut Expr) -> bool {
    let Expr::CompoundFieldAccess { root, access_chain } = e else { return false };
    let root = match root.as_ref() {
        Expr::Nested(inner) => inner.as_ref(),
        other => other,
    };
    let mut text = root.to_string();
    for access in access_chain.iter() {
        let AccessExpr::Dot(Expr::Identifier(name)) = access else { return false };
        text = format!("get_field({text}, '{}')", name.value.replace('\'', "''"));
    }
    replace(e, |_| text)
}

/// `ARRAY(SELECT … FROM unnest(….reloptions) …)` (psql's `\d+`) → NULL: no relation here has
/// storage options, and DataFusion cannot plan the correlated `unnest`. Other `ARRAY(…)`
/// subqueries are `datafusion-pg-catalog`'s to rewrite. Whether it did.
fn array_of_subquery(e: &mut Expr) -> bool {
    let Expr::Function(f) = e else { return false };
    let FunctionArguments::Subquery(q) = &f.args else { return false };
    let SetExpr::Select(select) = q.body.as_ref() else { return false };
    let from = select.from.iter().map(|t| t.relation.to_string().to_ascii_lowercase()).collect::<Vec<_>>().join(",");
    if from.contains("unnest(") && from.contains(".reloptions)") {
        return replace(e, |_| "CAST(NULL AS VARCHAR[])".into());
    }
    false
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

    #[test]
    fn pgjdbc_expanded_arrays_become_unnested_lists_and_fields_get_field() {
        // the shape of pgjdbc 42's getPrimaryKeys
        let keys = compat(
            "SELECT (information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, \
             information_schema._pg_expandarray(i.indkey) AS KEYS FROM pg_catalog.pg_index i",
        );
        assert_eq!(
            keys,
            "SELECT get_field(unnest(_pg_expandarray(i.indkey)), 'n') AS KEY_SEQ, \
             unnest(_pg_expandarray(i.indkey)) AS KEYS FROM pg_catalog.pg_index i"
        );
        let outer = compat(
            "SELECT r.k FROM (SELECT information_schema._pg_expandarray(i.indkey) AS keys FROM pg_catalog.pg_index i) r \
             WHERE r.a = (r.keys).x",
        );
        assert!(outer.ends_with("WHERE r.a = get_field(r.keys, 'x')"), "{outer}");
    }

    #[test]
    fn storage_options_are_null() {
        // psql's \d+
        let options = compat(
            "SELECT pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x from \
             pg_catalog.unnest(tc.reloptions) x), ', ') FROM pg_catalog.pg_class c",
        );
        assert!(options.contains("c.reloptions || CAST(NULL AS VARCHAR[])"), "{options}");
        let roles = "SELECT array(SELECT rolname FROM pg_catalog.pg_roles WHERE oid = 1) FROM pg_policy";
        assert_eq!(compat(roles), roles);
        // "Referenced by": the table's name, not its number; a lookup by name stays
        let referenced =
            compat("SELECT conname, conrelid::pg_catalog.regclass AS ontable FROM pg_catalog.pg_constraint c");
        assert_eq!(referenced, "SELECT conname, relation_name(conrelid) AS ontable FROM pg_catalog.pg_constraint c");
        let by_name = "SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid = 'fact_order'::regclass";
        assert_eq!(compat(by_name), by_name);
    }
}
