//! The OpenAPI document of the API, derived from the catalog: each analysis's path, parameters
//! (from its parameter set's type) and answer (from its output type's schema). Nothing in it is
//! written by hand but the words about sign-in and the errors every path shares.

use super::query::{Param, is_path_param, params_of};
use super::{Analysis, Visitor, visit};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required,
    ResponseBuilder, ResponsesBuilder, Schema,
};

/// Every error's shape.
#[derive(Serialize, ToSchema)]
pub struct Error {
    /// What is wrong, naming the parameter when one is.
    pub error: String,
}

/// `/healthz`'s answer.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` while a scheduled source or a delivery is failing.
    pub status: String,
    /// The warehouse version served.
    pub version: String,
    /// The schedule's status, when one runs (to a signed-in caller, or without sign-in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<crate::schedule::ScheduleStatus>,
}

/// `/api/status`'s answer: how fresh the served warehouse is.
#[derive(Serialize, ToSchema)]
pub struct ServerStatus {
    /// The warehouse version served.
    pub version: String,
    /// The import that published it, if its manifest records one.
    pub last_import: Option<LastImport>,
    /// The schedule's status, when one runs.
    pub schedule: Option<crate::schedule::ScheduleStatus>,
}

/// An import, as `/api/status` shows it.
#[derive(Serialize, ToSchema)]
pub struct LastImport {
    /// When it finished (RFC 3339, UTC).
    pub at: String,
    /// What it read.
    pub source: String,
    /// The version it published.
    pub version: String,
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("Error"))).build())
        .build()
}

fn ok_response(schema: RefOr<Schema>, csv: bool) -> utoipa::openapi::Response {
    let mut r = ResponseBuilder::new()
        .description("OK (ETag from the warehouse version and the parameters; 304 on If-None-Match)")
        .content("application/json", ContentBuilder::new().schema(Some(schema)).build());
    if csv {
        r = r.content("text/csv", ContentBuilder::new().build());
    }
    r.build()
}

/// The responses every path may give besides its own.
fn shared_errors(responses: ResponsesBuilder, signed_in: bool) -> ResponsesBuilder {
    let mut r = responses
        .response("400", error_response("a bad parameter (named in the message)"))
        .response("405", error_response("a method other than GET or HEAD"))
        .response("421", error_response("a Host header the server does not answer to"));
    if signed_in {
        r = r
            .response("401", error_response("no valid token or session (when sign-in is required)"))
            .response("500", error_response("the computation failed (the details are in the server's log)"))
            .response("503", error_response("the computation took too long, or the warehouse cannot be opened"));
    }
    r
}

struct Document {
    paths: PathsBuilder,
    components: ComponentsBuilder,
}

impl Visitor for Document {
    fn visit<A: Analysis>(&mut self) {
        let parameters = params_of::<A::Query>().into_iter().map(|p: Param| {
            let path = is_path_param(A::PATH, &p.name);
            ParameterBuilder::new()
                .name(p.name)
                .parameter_in(if path { ParameterIn::Path } else { ParameterIn::Query })
                .required(if path { Required::True } else { Required::False })
                .description(p.description)
                .schema(Some(p.schema))
                .build()
        });
        let mut schemas = Vec::new();
        <A::Output as ToSchema>::schemas(&mut schemas);
        // what the parameters refer to (the KPI sections' names)
        <A::Query as ToSchema>::schemas(&mut schemas);
        let name = <A::Output as ToSchema>::name();
        self.components = std::mem::take(&mut self.components)
            .schemas_from_iter(schemas)
            .schema(name.to_string(), <A::Output as utoipa::PartialSchema>::schema());
        let mut responses = ResponsesBuilder::new()
            .response("200", ok_response(Ref::from_schema_name(name).into(), A::PATH.ends_with("/rfm/customers")));
        if A::PATH.contains('{') {
            responses = responses.response("404", error_response("no such thing at this path (named in the message)"));
        }
        if A::MAY_HAVE_NO_ANSWER {
            responses = responses
                .response("422", error_response("the warehouse cannot answer this (no orders, too short a series)"));
        }
        let mut operation = OperationBuilder::new()
            .operation_id(Some(A::NAME))
            .summary(Some(A::SUMMARY))
            .tag(A::TAG)
            .parameters(Some(parameters))
            .responses(shared_errors(responses, true).build());
        if !A::DESCRIPTION.is_empty() {
            operation = operation.description(Some(A::DESCRIPTION));
        }
        self.paths = std::mem::take(&mut self.paths).path(A::PATH, PathItem::new(HttpMethod::Get, operation.build()));
    }
}

/// The API's OpenAPI document.
pub fn document() -> OpenApi {
    let mut doc = Document {
        paths: PathsBuilder::new(),
        components: ComponentsBuilder::new()
            .schema_from::<Error>()
            .security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some("an API token from `shoplens tokens add`"))
                        .build(),
                ),
            )
            .security_scheme(
                "session",
                SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                    "shoplens_session",
                    "set by signing in at /signin",
                ))),
            ),
    };
    visit(&mut doc);
    let health = OperationBuilder::new()
        .operation_id(Some("health"))
        .summary(Some("liveness and the warehouse version"))
        .tag("server")
        .responses(
            shared_errors(
                ResponsesBuilder::new().response("200", ok_response(Ref::from_schema_name("Health").into(), false)),
                false,
            )
            .response("503", error_response("the warehouse's current version cannot be opened"))
            .build(),
        )
        .security(SecurityRequirement::default())
        .build();
    let status = OperationBuilder::new()
        .operation_id(Some("status"))
        .summary(Some("how fresh the served warehouse is: its last import, and the schedule's sources and deliveries"))
        .tag("server")
        .responses(
            shared_errors(
                ResponsesBuilder::new()
                    .response("200", ok_response(Ref::from_schema_name("ServerStatus").into(), false)),
                true,
            )
            .build(),
        )
        .build();
    let paths = doc
        .paths
        .path("/healthz", PathItem::new(HttpMethod::Get, health))
        .path("/api/status", PathItem::new(HttpMethod::Get, status))
        .build();
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title("shoplens API").version(env!("CARGO_PKG_VERSION")).description(Some(
            "The figures of an e-commerce warehouse; definitions and shapes in shared/spec/kpis.md and \
                     customers.md. Unknown or repeated parameters are refused with 400. Authentication is needed \
                     when the warehouse has users or tokens (always on a non-loopback address); on loopback \
                     without users the API is open. Every error has the Error shape.",
        )))
        .paths(paths)
        .components(Some({
            // the server's own answers, and the schemas they refer to
            let mut schemas = Vec::new();
            <Health as ToSchema>::schemas(&mut schemas);
            <ServerStatus as ToSchema>::schemas(&mut schemas);
            doc.components.schemas_from_iter(schemas).schema_from::<Health>().schema_from::<ServerStatus>().build()
        }))
        .security(Some([
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("session", Vec::<String>::new()),
            SecurityRequirement::default(),
        ]))
        .tags(Some(["KPIs", "products", "customers", "insights", "server"].map(|t| TagBuilder::new().name(t).build())))
        .build()
}
