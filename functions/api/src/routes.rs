//! Routes as data: each function lists its (method, path, handler) triples, routers are
//! built from the lists, and the OpenAPI test compares the same lists with `openapi.yaml`,
//! so no route can exist undocumented.

use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;

use crate::state::AppState;

/// One route of the API.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    handler: MethodRouter<AppState>,
}

impl Route {
    pub(crate) fn new(method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Self {
        Route {
            method,
            path,
            handler,
        }
    }
}

/// A router serving exactly `routes` (the same path with several methods merges).
pub(crate) fn router(routes: Vec<Route>) -> Router<AppState> {
    routes
        .into_iter()
        .fold(Router::new(), |r, route| r.route(route.path, route.handler))
}
