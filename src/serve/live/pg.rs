//! The warehouse over the PostgreSQL wire protocol (`datafusion-postgres` on `pgwire`): psql,
//! psycopg, JDBC (Metabase, DBeaver), SQLAlchemy (Superset) and Grafana connect with their stock
//! drivers.
//!
//! What this module adds to the crate's protocol handling:
//! - **sign-in** against the warehouse's users and tokens with SCRAM-SHA-256, under the same
//!   failure limits as the dashboard's sign-in; no sign-in only while the warehouse has no users
//!   or tokens (and then only loopback is served); a client off loopback must use TLS; a
//!   connection whose user is removed, re-keyed or whose token is revoked is refused at its next
//!   statement;
//! - **read-only**: [`classify`] lets through queries, the `SET`s and `SHOW`s clients send at
//!   start, and transaction statements; anything that would write or change the server's
//!   settings is refused with SQLSTATE 25006 or 42501;
//! - **limits**: each statement holds one of the server's computation permits and runs in the
//!   live catalog's memory pool; it is cancelled at the time limit (SQLSTATE 57014) or by the
//!   protocol's cancel request, and a result over [`MAX_RESULT_BYTES`] is refused (54000); the
//!   connection stays usable after each; every connection holds a slot from the moment it is
//!   accepted (a cancel request's too: a few over the limit are read for one, each for a second
//!   at most), three quarters of them at most from one address ([`super::slots::Slots`]);
//!   connections beyond get SQLSTATE 53300, or are closed at once when many come together;
//!   statements over 1 MB or naming a parameter above `$65535` are refused before they are
//!   parsed ([`super::bounds`]);
//! - **logging** of every connection and statement with its user (never a password).

use super::compat::compat;
use super::{Live, MAX_RESULT_BYTES};
use crate::serve::access::Attempt;
use async_trait::async_trait;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::ParamValues;
use datafusion::execution::memory_pool::MemoryConsumer;
use datafusion::logical_expr::Expr;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{Set, SetExpr, Statement};
use datafusion_postgres::arrow_pg::datatypes::df::{deserialize_parameters_with_server_types, encode_dataframe};
use datafusion_postgres::arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch, into_pg_type};
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::hooks::{HookClient, QueryHook};
use datafusion_postgres::pgwire;
use datafusion_postgres::{DfSessionService, Parser};
use futures::{Sink, StreamExt};
use pgwire::api::Type;
use pgwire::api::auth::noop::NoopStartupHandler;
use pgwire::api::auth::sasl::SASLAuthStartupHandler;
use pgwire::api::auth::sasl::scram::ScramAuth;
use pgwire::api::auth::{AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler};
use pgwire::api::cancel::DefaultCancelHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::stmt::QueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, ConnectionManager, ErrorHandler, METADATA_USER, PgWireConnectionState,
    PgWireServerHandlers,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::data::DataRow;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::types::format::FormatOptions;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::fmt::Debug;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// The client metadata key under which a signed-in connection keeps who it is.
const PRINCIPAL: &str = "shoplens.principal";
/// ... and a digest of the key it proved, so a new password or a revoked token ends it.
const KEY_DIGEST: &str = "shoplens.key";
/// How much of a statement's text the log keeps.
const LOGGED_CHARS: usize = 500;

/// An error response with SQLSTATE `code`.
fn sql_error(severity: &str, code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(severity.into(), code.into(), message.into())))
}

/// What the server does with a statement before the engine sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Plan and run it (a query), or let the protocol's hooks answer it (`SET`, `SHOW`,
    /// transactions).
    Run,
    /// Answer it with this command tag and do nothing: a client setting the engine has no use
    /// for (`SET client_min_messages`, `DISCARD ALL`).
    Ignore(&'static str),
    /// Refuse it with this SQLSTATE and message.
    Refuse(&'static str, String),
}

/// Session variables whose `SET` the protocol's hook keeps for the connection.
const KEPT_SETTINGS: &[&str] = &[
    "statement_timeout",
    "datestyle",
    "bytea_output",
    "intervalstyle",
    "application_name",
    "extra_float_digits",
    "search_path",
];

/// Decides what happens to `statement`: the warehouse is read-only over the wire.
pub fn classify(statement: &Statement) -> Verdict {
    match statement {
        Statement::Query(q) if matches!(q.body.as_ref(), SetExpr::Select(s) if s.into.is_some()) => Verdict::Refuse(
            "25006",
            "cannot execute SELECT INTO in a read-only transaction: the warehouse is read-only".into(),
        ),
        Statement::Query(_) | Statement::ExplainTable { .. } => Verdict::Run,
        Statement::Explain { statement, .. } => match classify(statement) {
            Verdict::Run if matches!(**statement, Statement::Query(_)) => Verdict::Run,
            _ => Verdict::Refuse("25006", "only a query can be explained: the warehouse is read-only".into()),
        },
        Statement::ShowVariable { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowCatalogs { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowColumns { .. } => Verdict::Run,
        Statement::StartTransaction { .. } | Statement::Commit { .. } | Statement::Rollback { .. } => Verdict::Run,
        // nothing is ever written, so there is nothing to return to
        Statement::Savepoint { .. } => Verdict::Ignore("SAVEPOINT"),
        Statement::ReleaseSavepoint { .. } => Verdict::Ignore("RELEASE"),
        Statement::Set(set) => {
            if statement.to_string().to_ascii_lowercase().contains("datafusion.") {
                return Verdict::Refuse("42501", "the server's settings cannot be changed over a connection".into());
            }
            match set {
                Set::SingleAssignment { variable, .. }
                    if KEPT_SETTINGS.contains(&variable.to_string().to_ascii_lowercase().as_str()) =>
                {
                    Verdict::Run
                }
                Set::SetTimeZone { .. } => Verdict::Run,
                _ => Verdict::Ignore("SET"),
            }
        }
        Statement::Discard { .. } => Verdict::Ignore("DISCARD ALL"),
        Statement::Deallocate { .. } => Verdict::Ignore("DEALLOCATE"),
        Statement::Declare { .. } | Statement::Fetch { .. } | Statement::Close { .. } => {
            Verdict::Refuse("0A000", "cursors are not supported: run the query itself".into())
        }
        other => {
            let text = other.to_string();
            let verb: String = text.split_whitespace().take(2).collect::<Vec<_>>().join(" ").to_uppercase();
            Verdict::Refuse(
                "25006",
                format!("cannot execute {verb} in a read-only transaction: the warehouse is read-only"),
            )
        }
    }
}

/// Whether the statement is one the engine answers (a query, an `EXPLAIN`), not a protocol hook.
fn is_query(statement: &Statement) -> bool {
    matches!(statement, Statement::Query(_) | Statement::Explain { .. } | Statement::ExplainTable { .. })
}

/// The first of the statement hooks: applies [`classify`].
struct ReadOnlyHook;

impl ReadOnlyHook {
    fn answer(statement: &Statement) -> Option<PgWireResult<Response>> {
        match classify(statement) {
            Verdict::Run => None,
            Verdict::Ignore(tag) => Some(Ok(Response::Execution(Tag::new(tag)))),
            Verdict::Refuse(code, message) => Some(Err(sql_error("ERROR", code, message))),
        }
    }
}

#[async_trait]
impl QueryHook for ReadOnlyHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        Self::answer(statement)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        match classify(statement) {
            Verdict::Run => None,
            Verdict::Ignore(_) => Some(Ok(LogicalPlan::EmptyRelation(datafusion::logical_expr::EmptyRelation {
                produce_one_row: false,
                schema: Arc::new(datafusion::common::DFSchema::empty()),
            }))),
            Verdict::Refuse(code, message) => Some(Err(sql_error("ERROR", code, message))),
        }
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        Self::answer(statement)
    }
}

/// The last statement hook: plans queries in the live catalog, checked read-only and optimized
/// before a client is told their types. The crate reports the types of the plan before type
/// coercion, which can differ from the rows' (`CASE WHEN n = 0 THEN 0 ELSE a_decimal / n END` is
/// announced `int8` and then fails to encode its decimals); and it finds the parameters of a
/// scalar subquery only once the optimizer has turned the subquery into a join (otherwise the
/// parameters after it are decoded with the wrong types).
struct QueryHookLast;

impl QueryHookLast {
    async fn plan(statement: &Statement, ctx: &SessionContext) -> datafusion::error::Result<LogicalPlan> {
        let state = ctx.state();
        let plan =
            state.statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(statement.clone()))).await?;
        super::read_only().verify_plan(&plan)?;
        state.optimize(&plan)
    }
}

#[async_trait]
impl QueryHook for QueryHookLast {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let api = |e: datafusion::error::DataFusionError| PgWireError::ApiError(Box::new(e));
        let run = async {
            let plan = Self::plan(statement, ctx).await.map_err(api)?;
            let stream = ctx.execute_logical_plan(plan).await.map_err(api)?.execute_stream().await.map_err(api)?;
            // the rows' own schema: what the encoder will meet
            let options = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
            let fields = Arc::new(arrow_schema_to_pg_fields(&stream.schema(), &Format::UnifiedText, Some(options))?);
            let encode = fields.clone();
            let rows = stream
                .map(move |batch| -> Box<dyn Iterator<Item = PgWireResult<DataRow>> + Send + Sync> {
                    match batch {
                        Ok(batch) => encode_recordbatch(encode.clone(), batch),
                        Err(e) => Box::new(std::iter::once(Err(PgWireError::ApiError(Box::new(e))))),
                    }
                })
                .flat_map(futures::stream::iter);
            Ok(Response::Query(QueryResponse::new(fields, rows)))
        };
        Some(run.await)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        Some(Self::plan(statement, ctx).await.map_err(|e| PgWireError::ApiError(Box::new(e))))
    }

    async fn handle_extended_query(
        &self,
        _statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        // the crate binds the parameters and encodes in the portal's formats
        None
    }
}

/// Refuses a connection whose credentials changed since it signed in (or which signed in
/// without any while the warehouse had none, and it has some now).
fn check_principal(live: &Live, who: &Who) -> PgWireResult<()> {
    let gate = &live.state.gate;
    if !gate.required() {
        return Ok(());
    }
    let meta = &who.metadata;
    let valid = match (meta.get(PRINCIPAL), meta.get(KEY_DIGEST)) {
        (Some(name), Some(digest)) => {
            gate.credentials().scram_key(name).is_some_and(|k| key_digest(&k.stored_key) == *digest)
        }
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(sql_error("FATAL", "28000", "this connection's sign-in is no longer valid: connect again"))
    }
}

/// The statement handlers: the crate's, behind the read-only hook, run under the limits.
pub struct Limited {
    inner: DfSessionService,
    parser: Arc<CompatParser>,
    live: Arc<Live>,
}

impl Limited {
    fn new(live: Arc<Live>) -> Limited {
        let hooks: Vec<Arc<dyn QueryHook>> = vec![
            Arc::new(ReadOnlyHook),
            Arc::new(SetShowHook),
            Arc::new(TransactionStatementHook),
            Arc::new(QueryHookLast),
        ];
        let inner = DfSessionService::new_with_hooks(Arc::new(live.context().clone()), hooks);
        let parser = Arc::new(CompatParser { inner: inner.query_parser(), live: live.clone() });
        Limited { inner, parser, live }
    }

    /// When `client`'s statement must end: the server's limit, or the client's
    /// `statement_timeout` if shorter.
    fn deadline(&self, who: &Who) -> (Instant, Duration) {
        let mut limit = self.live.timeout;
        if let Some(own) = client_timeout(who) {
            limit = limit.min(own);
        }
        (Instant::now() + limit, limit)
    }

    /// Runs `work` (the crate's handling of one message) under the limits, then gathers each
    /// result's rows before the deadline.
    async fn limited<F>(&self, who: &Who, text: &str, work: F) -> PgWireResult<Vec<Response>>
    where
        F: std::future::Future<Output = PgWireResult<Vec<Response>>>,
    {
        check_principal(&self.live, who)?;
        let user = who.metadata.get(METADATA_USER).cloned().unwrap_or_default();
        let short: String = redacted(text).chars().take(LOGGED_CHARS).collect();
        tracing::info!(target: "shoplens::pg", %user, peer = %who.peer, statement = %short, "statement");
        let (deadline, limit) = self.deadline(who);
        let timed_out =
            || sql_error("ERROR", "57014", format!("canceling statement due to statement timeout ({limit:?})"));
        let run = async {
            let _version = self.live.pin().await.map_err(|e| PgWireError::ApiError(Box::new(e)))?;
            let _permit = self.live.state.permits.acquire().await.map_err(|e| PgWireError::ApiError(Box::new(e)))?;
            let mut out = Vec::new();
            for response in work.await? {
                out.push(gather(response, self.live.context()).await?);
            }
            Ok(out)
        };
        let started = std::time::Instant::now();
        let result = tokio::time::timeout_at(deadline, run).await.unwrap_or_else(|_| Err(timed_out()));
        match &result {
            Ok(_) => {
                tracing::info!(target: "shoplens::pg", %user, seconds = started.elapsed().as_secs_f64(), "statement done")
            }
            Err(e) => tracing::info!(target: "shoplens::pg", %user, error = %e, "statement failed"),
        }
        result
    }
}

/// A statement as the log shows it: its quoted texts blanked when it mentions a password (an
/// `ALTER USER … PASSWORD '…'` is refused, but it is logged first).
fn redacted(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.to_ascii_lowercase().contains("password") {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        if c == '\'' {
            quoted = !quoted;
            out.push(c);
            if quoted {
                out.push_str("***");
            }
        } else if !quoted {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The client's own `statement_timeout`, as the crate's `SET` hook keeps it.
fn client_timeout(who: &Who) -> Option<Duration> {
    who.metadata.get("statement_timeout_ms").and_then(|s| s.parse::<u64>().ok()).map(Duration::from_millis)
}

/// Runs a query result's stream to its end, so the time limit and a cancel reach the whole
/// execution, and refuses one larger than [`MAX_RESULT_BYTES`]. The rows' bytes are reserved in
/// the statements' memory pool until they are sent, so results waiting to be sent cannot add up
/// beyond it.
async fn gather(response: Response, ctx: &SessionContext) -> PgWireResult<Response> {
    let Response::Query(mut query) = response else { return Ok(response) };
    let held = MemoryConsumer::new("result being sent").register(&ctx.runtime_env().memory_pool);
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    while let Some(row) = query.data_rows().next().await {
        let row = row?;
        bytes += row.data.len();
        if bytes > MAX_RESULT_BYTES {
            return Err(sql_error(
                "ERROR",
                "54000",
                format!("the result is larger than {} MB: add a LIMIT, or aggregate", MAX_RESULT_BYTES >> 20),
            ));
        }
        held.try_grow(row.data.len()).map_err(|_| {
            sql_error(
                "ERROR",
                "53200",
                "out of memory: the results of the statements running now fill the server's memory limit",
            )
        })?;
        rows.push(Ok(row));
    }
    let rows = futures::stream::iter(rows).map(move |row| {
        // released when the last row is sent, or the response dropped
        let _ = &held;
        row
    });
    let mut out = QueryResponse::new(query.row_schema(), rows);
    out.set_command_tag(query.command_tag());
    Ok(Response::Query(out))
}

#[async_trait]
impl SimpleQueryHandler for Limited {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let who = Who::of(client);
        // before the parser sees it: a long text or `$99999999999` costs memory to parse or plan
        super::bounds::check_text(query).map_err(|(code, message)| sql_error("ERROR", code, message))?;
        let text = compat(query);
        let work = SimpleQueryHandler::do_query(&self.inner, client, &text);
        self.limited(&who, query, work).await
    }
}

#[async_trait]
impl ExtendedQueryHandler for Limited {
    type Statement = <DfSessionService as ExtendedQueryHandler>::Statement;
    type QueryParser = CompatParser;

    fn query_parser(&self) -> Arc<CompatParser> {
        self.parser.clone()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let who = Who::of(client);
        let text = portal.statement.statement.0.clone();
        let query = match &portal.statement.statement {
            (_, Some((statement, plan))) if is_query(statement) => Some(plan),
            _ => None,
        };
        let format = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
        let work = async {
            Ok(vec![match query {
                Some(plan) => run_portal(self.live.context(), plan, portal, format).await?,
                // SET, SHOW, transactions: the crate's hooks
                None => ExtendedQueryHandler::do_query(&self.inner, client, portal, max_rows).await?,
            }])
        };
        let mut responses = self.limited(&who, &text, work).await?;
        Ok(responses.pop().unwrap_or(Response::EmptyQuery))
    }
}

/// The crate's parser, after [`compat`]'s rewrite; a connection whose sign-in is no longer valid
/// cannot parse either.
pub struct CompatParser {
    inner: Arc<Parser>,
    live: Arc<Live>,
}

#[async_trait]
impl QueryParser for CompatParser {
    type Statement = <Parser as QueryParser>::Statement;

    async fn parse_sql<C>(&self, client: &C, sql: &str, types: &[Option<Type>]) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        check_principal(&self.live, &Who::of(client))?;
        super::bounds::check_text(sql).map_err(|(code, message)| sql_error("ERROR", code, message))?;
        self.inner.parse_sql(client, &compat(sql), types).await
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        match stmt {
            (_, Some((_, plan))) => Ok(wire_types(&parameter_types(plan)?)),
            _ => self.inner.get_parameter_types(stmt),
        }
    }

    fn get_result_schema(&self, stmt: &Self::Statement, format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        self.inner.get_result_schema(stmt, format)
    }
}

/// The types of a plan's parameters `$1`…`$n` in order, subqueries included (`None`: not
/// inferred; the client's own type, or text, decides). The crate misses those of a scalar
/// subquery, and then decodes the ones after it with the wrong types.
fn parameter_types(plan: &LogicalPlan) -> PgWireResult<Vec<Option<DataType>>> {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    let mut found: std::collections::BTreeMap<usize, Option<DataType>> = std::collections::BTreeMap::new();
    let mut record = |id: &str, ty: Option<DataType>| {
        if let Some(n) = id.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) {
            let slot = found.entry(n).or_insert(None);
            if slot.is_none() {
                *slot = ty;
            }
        }
    };
    plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|e| {
                match e {
                    Expr::Cast(c) => {
                        if let Expr::Placeholder(p) = c.expr.as_ref() {
                            record(&p.id, Some(c.field.data_type().clone()));
                        }
                    }
                    Expr::Placeholder(p) => record(&p.id, p.field.as_ref().map(|f| f.data_type().clone())),
                    _ => {}
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })
    .map_err(|e| PgWireError::ApiError(Box::new(e)))?;
    let count = found.keys().next_back().copied().unwrap_or(0);
    Ok((1..=count).map(|n| found.get(&n).cloned().flatten()).collect())
}

/// The wire types a client is told for parameters of these types.
fn wire_types(types: &[Option<DataType>]) -> Vec<Type> {
    types.iter().map(|t| t.as_ref().and_then(|t| into_pg_type(t).ok()).unwrap_or(Type::UNKNOWN)).collect()
}

/// Runs a parsed query with the portal's parameters, decoded with [`parameter_types`], and
/// encodes its rows in the formats the portal asks for.
async fn run_portal<S: Clone>(
    ctx: &SessionContext,
    plan: &LogicalPlan,
    portal: &Portal<S>,
    format: Arc<FormatOptions>,
) -> PgWireResult<Response> {
    let api = |e: datafusion::error::DataFusionError| PgWireError::ApiError(Box::new(e));
    let types = parameter_types(plan)?;
    let wire: Vec<Option<Type>> = wire_types(&types).into_iter().map(|t| (t != Type::UNKNOWN).then_some(t)).collect();
    let params = deserialize_parameters_with_server_types(
        portal,
        &types.iter().map(Option::as_ref).collect::<Vec<_>>(),
        &wire.iter().map(Option::as_ref).collect::<Vec<_>>(),
    )?;
    let plan = plan.clone().replace_params_with_values(&params).map_err(api)?;
    let frame = ctx.execute_logical_plan(plan).await.map_err(api)?;
    Ok(Response::Query(encode_dataframe(frame, &portal.result_column_format, Some(format)).await?))
}

/// What [`Limited::limited`] reads of a client, taken before the crate's handler holds it.
struct Who {
    peer: std::net::SocketAddr,
    metadata: std::collections::HashMap<String, String>,
}

impl Who {
    fn of<C: ClientInfo>(client: &C) -> Who {
        Who { peer: client.socket_addr(), metadata: client.metadata().clone() }
    }
}

fn key_digest(salted: &str) -> String {
    Sha256::digest(salted.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The SCRAM keys of the warehouse's users and tokens, for one connection: counts the attempt
/// against the failure limits before it is proved.
/// The server's secret for the salts of unknown names (see [`GateKeys`]).
static UNKNOWN_SALT_SECRET: std::sync::LazyLock<[u8; 32]> = std::sync::LazyLock::new(|| rand::rng().random());

struct GateKeys {
    live: Arc<Live>,
    attempt: Arc<Mutex<Option<(Attempt, String)>>>,
}

impl Debug for GateKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GateKeys")
    }
}

#[async_trait]
impl AuthSource for GateKeys {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().ok_or(PgWireError::UserNameRequired)?;
        let gate = &self.live.state.gate;
        let peer: IpAddr = login.host().parse().map_err(|_| PgWireError::UserNameRequired)?;
        let attempt = gate.reserve(peer, user).map_err(|wait| {
            sql_error("FATAL", "28000", format!("too many failed sign-ins: try again in {} s", wait.as_secs().max(1)))
        })?;
        let credentials = gate.credentials();
        let key = credentials.scram_key(user).and_then(|k| Some((k.bytes()?, key_digest(&k.stored_key))));
        match key {
            Some(((salt, salted), digest)) => {
                *self.attempt.lock().expect("attempt lock") = Some((attempt, digest));
                Ok(Password::new(Some(salt), salted))
            }
            None => {
                if credentials.users.contains_key(user) || credentials.tokens.contains_key(user) {
                    tracing::warn!(
                        target: "shoplens::pg",
                        %user,
                        "no key for the PostgreSQL protocol: its password was set before they existed; set it again (`shoplens users add {user} --replace`)"
                    );
                }
                // an unknown name is asked to prove a key with a salt of its own that stays the
                // same from one try to the next, as a known name's does: the salt does not tell
                // which names exist
                let salt = Sha256::digest([UNKNOWN_SALT_SECRET.as_slice(), user.as_bytes()].concat());
                let salted: [u8; 32] = rand::rng().random();
                Ok(Password::new(Some(salt[..16].to_vec()), salted.to_vec()))
            }
        }
    }
}

/// No sign-in (the warehouse has no users or tokens; loopback only).
struct Open {
    manager: Arc<ConnectionManager>,
}

impl NoopStartupHandler for Open {
    fn connection_manager(&self) -> Option<Arc<ConnectionManager>> {
        Some(self.manager.clone())
    }
}

enum Method {
    Open(Open),
    Scram(SASLAuthStartupHandler<DefaultServerParameterProvider>),
}

/// One connection's start: the TLS rule, then sign-in by [`Method`], then the bookkeeping.
pub struct SignIn {
    live: Arc<Live>,
    method: Method,
    attempt: Arc<Mutex<Option<(Attempt, String)>>>,
    signed_in: Arc<AtomicBool>,
}

/// What the server tells clients at start: a read-only server, no superuser.
fn parameters() -> DefaultServerParameterProvider {
    let mut p = DefaultServerParameterProvider::default();
    p.is_superuser = false;
    p.default_transaction_read_only = true;
    p
}

#[async_trait]
impl StartupHandler for SignIn {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let peer = client.socket_addr();
        if let PgWireFrontendMessage::Startup(startup) = &message {
            let user = startup.parameters.get("user").map(String::as_str).unwrap_or("");
            let app = startup.parameters.get("application_name").map(String::as_str).unwrap_or("");
            tracing::info!(target: "shoplens::pg", %peer, %user, application = %app, tls = client.is_secure(), "connection");
            if !client.is_secure() && !peer.ip().is_loopback() {
                return Err(sql_error(
                    "FATAL",
                    "28000",
                    "connections from other hosts must use TLS: connect with sslmode=require",
                ));
            }
        }
        let result = match &self.method {
            Method::Open(h) => h.on_startup(client, message).await,
            Method::Scram(h) => h.on_startup(client, message).await,
        };
        let user = client.metadata().get(METADATA_USER).cloned().unwrap_or_default();
        if let Err(e) = &result {
            tracing::warn!(target: "shoplens::pg", %peer, %user, error = %e, "sign-in failed");
        } else if matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            let proved = self.attempt.lock().expect("attempt lock").take();
            if let Some((attempt, digest)) = proved {
                self.live.state.gate.succeeded(attempt);
                client.metadata_mut().insert(KEY_DIGEST.into(), digest);
            }
            client.metadata_mut().insert(PRINCIPAL.into(), user.clone());
            self.signed_in.store(true, Ordering::Release);
            tracing::info!(target: "shoplens::pg", %peer, %user, "signed in");
        }
        result
    }
}

/// Logs the errors sent to clients.
struct LogErrors;

impl ErrorHandler for LogErrors {
    fn on_error<C: ClientInfo>(&self, client: &C, error: &mut PgWireError) {
        tracing::debug!(target: "shoplens::pg", peer = %client.socket_addr(), %error, "error sent");
    }
}

/// The protocol handlers of the server: one [`Limited`] for all connections, a [`SignIn`] per
/// connection (through its [`Connection`]).
pub struct Handlers {
    live: Arc<Live>,
    statements: Arc<Limited>,
    manager: Arc<ConnectionManager>,
    cancel: Arc<DefaultCancelHandler>,
}

impl Handlers {
    /// The handlers over `live`.
    pub fn new(live: Arc<Live>) -> Handlers {
        let manager = Arc::new(ConnectionManager::new());
        Handlers {
            statements: Arc::new(Limited::new(live.clone())),
            cancel: Arc::new(DefaultCancelHandler::new(manager.clone())),
            manager,
            live,
        }
    }
}

/// One connection's view of the [`Handlers`]: its sign-in tells the server when it is done.
struct Connection {
    shared: Arc<Handlers>,
    signed_in: Arc<AtomicBool>,
}

impl PgWireServerHandlers for Connection {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.shared.statements.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.shared.statements.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        let shared = &self.shared;
        let attempt = Arc::new(Mutex::new(None));
        let method = if shared.live.state.gate.required() {
            let keys = GateKeys { live: shared.live.clone(), attempt: attempt.clone() };
            let scram = ScramAuth::new(Arc::new(keys));
            Method::Scram(
                SASLAuthStartupHandler::new(Arc::new(parameters()))
                    .with_scram(scram)
                    .with_connection_manager(shared.manager.clone()),
            )
        } else {
            Method::Open(Open { manager: shared.manager.clone() })
        };
        Arc::new(SignIn { live: shared.live.clone(), method, attempt, signed_in: self.signed_in.clone() })
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.shared.cancel.clone()
    }

    fn error_handler(&self) -> Arc<impl ErrorHandler> {
        Arc::new(LogErrors)
    }
}

/// Serves the protocol on `listener` until `shutdown`: each connection in a task of its own, at
/// most `max_connections` at once; TLS when `tls` is given (the client asks for it, as libpq's
/// `sslmode` says).
pub async fn serve(
    listener: TcpListener,
    live: Arc<Live>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    max_connections: usize,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let handlers = Arc::new(Handlers::new(live));
    let slots = super::slots::Slots::new(max_connections);
    let overflow = Arc::new(tokio::sync::Semaphore::new(OVERFLOW));
    tokio::pin!(shutdown);
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // out of file descriptors, say: wait rather than spin
                    tracing::warn!(target: "shoplens::pg", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let _ = socket.set_nodelay(true);
        let connection = |signed_in: &Arc<AtomicBool>| {
            Arc::new(Connection { shared: handlers.clone(), signed_in: signed_in.clone() })
        };
        // every connection counts from the moment it is accepted, whatever it will say
        let Some(slot) = slots.take(peer.ip()) else {
            // over the limit: a few at once are read for a cancel request (a full server must
            // still take one) or told 53300, each for a moment; any more are closed at once
            let Ok(permit) = overflow.clone().try_acquire_owned() else {
                tracing::warn!(target: "shoplens::pg", %peer, max_connections, "connection closed: too many");
                continue;
            };
            let connection = connection(&Arc::new(AtomicBool::new(false)));
            tokio::spawn(async move {
                let _permit = permit;
                if is_cancel_request(&socket).await {
                    let _ =
                        tokio::time::timeout(OVERFLOW_TIME, pgwire::tokio::process_socket(socket, None, connection))
                            .await;
                } else {
                    tracing::warn!(target: "shoplens::pg", %peer, max_connections, "connection refused: too many");
                    too_many(socket).await;
                }
            });
            continue;
        };
        let signed_in = Arc::new(AtomicBool::new(false));
        let connection = connection(&signed_in);
        let tls = tls.clone();
        let mut task = tokio::spawn(async move {
            if let Err(e) = pgwire::tokio::process_socket(socket, tls, connection).await {
                tracing::debug!(target: "shoplens::pg", %peer, error = %e, "connection ended");
            }
        });
        tokio::spawn(async move {
            let _slot = slot;
            // a connection that does not sign in soon gives its slot back
            if tokio::time::timeout(SIGN_IN_TIME, &mut task).await.is_err() {
                if !signed_in.load(Ordering::Acquire) {
                    task.abort();
                    tracing::warn!(target: "shoplens::pg", %peer, "closed: no sign-in within {SIGN_IN_TIME:?}");
                }
                let _ = task.await;
            }
        });
    }
}

/// How many connections over the limit are read at once (for a cancel request, or to be told
/// 53300); any more are closed without a word.
const OVERFLOW: usize = 16;
/// How long a connection over the limit is kept at most.
const OVERFLOW_TIME: Duration = Duration::from_secs(1);

/// How long a connection may take to sign in before it is closed.
const SIGN_IN_TIME: Duration = Duration::from_secs(10);

/// Whether the connection's first message is a cancel request (read without taking it).
async fn is_cancel_request(socket: &TcpStream) -> bool {
    const CANCEL_REQUEST: u32 = 80_877_102;
    let mut head = [0u8; 8];
    let peeked = tokio::time::timeout(OVERFLOW_TIME, async {
        loop {
            match socket.peek(&mut head).await {
                Ok(8) => return true,
                Ok(0) | Err(_) => return false,
                Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    })
    .await;
    matches!(peeked, Ok(true)) && u32::from_be_bytes([head[4], head[5], head[6], head[7]]) == CANCEL_REQUEST
}

/// Tells a client over the connection limit so, as PostgreSQL does (SQLSTATE 53300), after
/// declining its TLS request if it makes one, then closes.
async fn too_many(mut socket: TcpStream) {
    const SSL_REQUEST: u32 = 80_877_103;
    const GSS_REQUEST: u32 = 80_877_104;
    let exchange = async {
        for _ in 0..3 {
            let len = socket.read_u32().await? as usize;
            if !(8..=10_000).contains(&len) {
                break;
            }
            let code = socket.read_u32().await?;
            let mut rest = vec![0; len - 8];
            socket.read_exact(&mut rest).await?;
            if code == SSL_REQUEST || code == GSS_REQUEST {
                socket.write_all(b"N").await?;
                continue;
            }
            break;
        }
        socket.write_all(&error_message("53300", "sorry, too many clients already")).await?;
        socket.shutdown().await
    };
    let _ = tokio::time::timeout(OVERFLOW_TIME * 2, exchange).await;
}

/// A FATAL `ErrorResponse` message, encoded.
fn error_message(code: &str, message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (tag, value) in [(b'S', "FATAL"), (b'V', "FATAL"), (b'C', code), (b'M', message)] {
        body.push(tag);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&i32::try_from(body.len() + 4).unwrap_or(i32::MAX).to_be_bytes());
    out.extend_from_slice(&body);
    out
}
