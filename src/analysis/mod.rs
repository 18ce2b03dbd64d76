//! The analysis catalog: every analysis the API, the OpenAPI document, the report and the page
//! offer, each defined once as a type implementing [`Analysis`] — its name and path, its parameter
//! set (refusing unknown and repeated keys, validated once into the core's options), its output
//! type (serializable, with a schema) and its run over the warehouse. [`visit`] walks the one list;
//! the server's routes, the OpenAPI document and the page's route table all come from that walk.
//!
//! How to add an analysis: `docs/architecture.md`, "How to add an analysis".

pub mod countries;
pub mod customers;
pub mod error;
pub mod insights;
pub mod kpis;
pub mod openapi;
pub mod presets;
pub mod products;
pub mod query;

pub use error::AnalysisError;
pub use query::Query;

use crate::warehouse::Warehouse;
use serde::Serialize;
use std::any::Any;
use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use utoipa::ToSchema;

/// One analysis: what it is called, where it is served, what it takes and what it answers.
pub trait Analysis: Send + Sync + 'static {
    /// Its name: the page's and the report's handle for it.
    const NAME: &'static str;
    /// Its path in the API; `{name}` marks a path parameter of [`Analysis::Query`].
    const PATH: &'static str;
    /// One line saying what it answers (the OpenAPI summary).
    const SUMMARY: &'static str;
    /// What the user should know beyond the summary (the OpenAPI description), if anything.
    const DESCRIPTION: &'static str = "";
    /// Its group in the OpenAPI document: `KPIs`, `customers`, `insights`.
    const TAG: &'static str;
    /// Whether the warehouse may be unable to answer (422): no orders, too short a series.
    const MAY_HAVE_NO_ANSWER: bool = false;
    /// The parameters as given.
    type Query: Query;
    /// The parameters validated: what [`Analysis::run`] works from, and the cache's key.
    type Options: Clone + Debug + Send + Sync + 'static;
    /// What it answers.
    type Output: Serialize + ToSchema + Send + Sync + 'static;

    /// Validates the parameters.
    ///
    /// # Errors
    /// A value that is not acceptable, named ([`AnalysisError::BadParameter`]), or a thing asked
    /// for that does not exist ([`AnalysisError::NotFound`]).
    fn options(query: Self::Query) -> Result<Self::Options, AnalysisError>;

    /// Computes the answer.
    ///
    /// # Errors
    /// The warehouse cannot answer (no orders, too short a series) or a query fails.
    fn run(ctx: &Ctx<'_>, options: &Self::Options) -> impl Future<Output = Result<Self::Output, AnalysisError>> + Send;

    /// The answer cut from results already kept (a section from the KPIs, a page from every
    /// customer's rows), when they are: cheap work, which the server does without a computation
    /// permit. `None` when there is nothing to cut from.
    fn cut(_ctx: &Ctx<'_>, _options: &Self::Options) -> Option<Self::Output> {
        None
    }

    /// About how many bytes `output` holds in memory (what keeping it costs the cache).
    fn weight(_output: &Self::Output) -> usize {
        4096
    }

    /// Whether the analysis also answers as CSV ([`Analysis::csv`]), with `Accept: text/csv`.
    const CSV: bool = false;

    /// The whole answer as a CSV file.
    ///
    /// # Errors
    /// As [`Analysis::run`]; an analysis without CSV answers [`AnalysisError::NotFound`].
    fn csv(_ctx: &Ctx<'_>, _options: &Self::Options) -> impl Future<Output = Result<Vec<u8>, AnalysisError>> + Send {
        async { Err(AnalysisError::NotFound(format!("{} has no CSV form", Self::NAME))) }
    }

    /// The CSV file's name for `options`.
    fn csv_name(_options: &Self::Options) -> String {
        format!("{}.csv", Self::NAME)
    }

    /// The answer as JSON bytes.
    fn to_json(output: &Self::Output) -> Result<Vec<u8>, AnalysisError> {
        serde_json::to_vec(output).map_err(|e| AnalysisError::Internal(e.to_string()))
    }
}

/// The key of an analysis's answer for `options`, unique across the catalog: its name and the
/// validated options (which are canonical: two spellings of one request validate to one value).
pub fn key<A: Analysis>(options: &A::Options) -> String {
    format!("{} {options:?}", A::NAME)
}

/// Results an analysis may reuse (the server's cache): an analysis that is cut from another
/// (a KPI section from the KPIs) asks for it through [`Ctx::run`] and gets the kept one.
pub trait Memo: Send + Sync {
    /// The kept result for `key`, if any.
    fn get(&self, key: &str) -> Option<Arc<dyn Any + Send + Sync>>;
    /// Keeps `value`, which holds about `weight` bytes, for `key`.
    fn put(&self, key: String, value: Arc<dyn Any + Send + Sync>, weight: usize);
}

/// What an analysis runs with: the warehouse, the results it may reuse, and when it must stop.
pub struct Ctx<'a> {
    /// The warehouse version to read.
    pub warehouse: &'a Warehouse,
    memo: Option<&'a dyn Memo>,
    /// When a long fit must give up (the server's time limit), if ever.
    pub deadline: Option<std::time::Instant>,
}

impl<'a> Ctx<'a> {
    /// Runs analyses on `warehouse`, reusing nothing, without a deadline (the CLI, the report).
    pub fn new(warehouse: &'a Warehouse) -> Ctx<'a> {
        Ctx { warehouse, memo: None, deadline: None }
    }

    /// Reuses and keeps results in `memo`, and stops long fits at `deadline`.
    pub fn with_memo(warehouse: &'a Warehouse, memo: &'a dyn Memo, deadline: Option<std::time::Instant>) -> Ctx<'a> {
        Ctx { warehouse, memo: Some(memo), deadline }
    }

    /// The answer of `A` for `options`: the kept one, or computed (and kept).
    ///
    /// # Errors
    /// As [`Analysis::run`].
    pub async fn run<A: Analysis>(&self, options: &A::Options) -> Result<Arc<A::Output>, AnalysisError> {
        if let Some(kept) = self.kept::<A>(options) {
            return Ok(kept);
        }
        let key = key::<A>(options);
        let out = Arc::new(A::run(self, options).await?);
        if let Some(m) = self.memo {
            m.put(key, out.clone(), A::weight(&out));
        }
        Ok(out)
    }

    /// The kept answer of `A` for `options`, if any.
    pub fn kept<A: Analysis>(&self, options: &A::Options) -> Option<Arc<A::Output>> {
        self.memo?.get(&key::<A>(options))?.downcast::<A::Output>().ok()
    }

    /// Runs `A` for parameters as given: validated, then computed.
    ///
    /// # Errors
    /// As [`Analysis::options`] and [`Analysis::run`].
    pub async fn answer<A: Analysis>(&self, query: A::Query) -> Result<Arc<A::Output>, AnalysisError> {
        self.run::<A>(&A::options(query)?).await
    }
}

/// Something done with every analysis of the catalog (adding its route, documenting it, listing
/// it for the page).
pub trait Visitor {
    /// Called once per analysis, in the catalog's order.
    fn visit<A: Analysis>(&mut self);
}

/// The catalog: every analysis, in the order the API documents them.
pub fn visit(v: &mut impl Visitor) {
    v.visit::<kpis::Kpis>();
    v.visit::<kpis::Compare>();
    v.visit::<kpis::Section>();
    v.visit::<kpis::Dimensions>();
    v.visit::<presets::PresetsAnalysis>();
    v.visit::<kpis::Forecast>();
    v.visit::<countries::CountriesAnalysis>();
    v.visit::<products::ProductsAnalysis>();
    v.visit::<products::PairsAnalysis>();
    v.visit::<products::JourneyAnalysis>();
    v.visit::<customers::Cohorts>();
    v.visit::<customers::Returning>();
    v.visit::<customers::Rfm>();
    v.visit::<customers::RfmCustomers>();
    v.visit::<customers::Clv>();
    v.visit::<insights::Explain>();
    v.visit::<insights::Projection>();
    v.visit::<insights::Alerts>();
}

/// An analysis as the page's route table lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Route {
    /// [`Analysis::NAME`].
    pub name: &'static str,
    /// [`Analysis::PATH`].
    pub path: &'static str,
    /// Its parameters in canonical order (the path's included).
    pub params: Vec<String>,
}

/// Every analysis's route, in catalog order.
pub fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        struct List(Vec<Route>);
        impl Visitor for List {
            fn visit<A: Analysis>(&mut self) {
                let params = query::params_of::<A::Query>().into_iter().map(|p| p.name).collect();
                self.0.push(Route { name: A::NAME, path: A::PATH, params });
            }
        }
        let mut list = List(Vec::new());
        visit(&mut list);
        list.0
    })
}

/// Every parameter name some analysis takes.
pub fn known_params() -> &'static [String] {
    static KNOWN: OnceLock<Vec<String>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut all: Vec<String> = routes().iter().flat_map(|r| r.params.iter().cloned()).collect();
        all.sort();
        all.dedup();
        all
    })
}

/// The URL the page requests for `A` with `query`: its path (path parameters filled in) and the
/// canonical query string. A report stores each answer under it.
pub fn url<A: Analysis>(query: &A::Query) -> String {
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&query::canonical(query)).expect("a canonical query string decodes");
    let mut path = A::PATH.to_string();
    pairs.retain(|(k, v)| {
        let hole = format!("{{{k}}}");
        if path.contains(&hole) {
            path = path.replace(&hole, v);
            false
        } else {
            true
        }
    });
    let q = serde_urlencoded::to_string(&pairs).expect("pairs of texts encode");
    if q.is_empty() { path } else { format!("{path}?{q}") }
}
