//! `/consents`: the applications a user allowed, and taking access back.
//!
//! The user signs in at Entra first (the same confidential-client sign-in as for a client, bound
//! to this browser by a cookie); the list is then shown for ten minutes. Each entry has a
//! "Revoke" button: a form posted with the page's CSRF token, which deletes the consent. The
//! client's refresh tokens stop working at their next use; access tokens already issued (Entra's,
//! about an hour) run out on their own.

use std::sync::Arc;

use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde::Deserialize;

use super::{
    Broker,
    authorize::{
        SignInState, digest_hex, load_pending, same, start_entra_sign_in, unavailable_page,
    },
    consents,
    pages::{self, error_page, escape},
    random_token, unix_now,
};

const SESSION_LIFETIME: u64 = 10 * 60;

#[derive(Deserialize)]
pub struct ListQuery {
    session: Option<String>,
}

/// `GET /consents`: signs the user in, then lists their consents.
pub async fn list(
    State(broker): State<Arc<Broker>>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some(session) = query.session.as_deref() else {
        let cookie_name = random_token(6);
        let cookie_value = random_token(32);
        let sign_in = SignInState {
            kind: "manage".into(),
            client_id: String::new(),
            redirect_uri: String::new(),
            state: None,
            code_challenge: String::new(),
            scopes: vec![broker.settings.default_scope.clone()],
            verifier: random_token(32),
            cookie: cookie_name.clone(),
            browser: digest_hex(&cookie_value),
            expires: unix_now() + SESSION_LIFETIME,
        };
        return start_entra_sign_in(&broker, &sign_in, &cookie_name, &cookie_value, None).await;
    };
    let (pending, _) = match load_pending(&broker, &headers, session, "manage").await {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    let consents = match consents::list(
        broker.store.as_ref(),
        &pending.tenant_id,
        &pending.object_id,
    )
    .await
    {
        Ok(consents) => consents,
        Err(_) => return unavailable_page(),
    };
    let items: String = if consents.is_empty() {
        "<p>You have not allowed any application.</p>".to_owned()
    } else {
        let entries: String = consents
            .iter()
            .map(|(client, consent)| {
                format!(
                    "<li><h2>{name}</h2><p class=\"note\">Returns to {redirects}</p>\
                     <form method=\"post\" action=\"{action}\">\
                     <input type=\"hidden\" name=\"session\" value=\"{session}\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                     <input type=\"hidden\" name=\"client\" value=\"{client}\">\
                     <button class=\"secondary\" type=\"submit\">Revoke access for {name}</button>\
                     </form></li>",
                    name = escape(&consent.client_name),
                    redirects = escape(&consent.redirect_uris.join(", ")),
                    action = escape(&broker.settings.endpoint("/consents/revoke")),
                    session = escape(session),
                    csrf = escape(&pending.csrf),
                    client = escape(client),
                )
            })
            .collect();
        format!("<ul class=\"consents\">{entries}</ul>")
    };
    pages::page(
        StatusCode::OK,
        "Applications you allowed",
        &format!(
            "<h1>Applications you allowed</h1><p>Signed in as <strong>{}</strong>. These \
             applications may use {} as you. Revoking stops them at their next token refresh.</p>{items}",
            escape(&pending.user_name),
            escape(super::RESOURCE_NAME),
        ),
        &[],
    )
}

#[derive(Deserialize)]
pub struct RevokeForm {
    session: Option<String>,
    csrf: Option<String>,
    client: Option<String>,
}

/// `POST /consents/revoke`.
pub async fn revoke(
    State(broker): State<Arc<Broker>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<RevokeForm>,
) -> Response {
    let (Some(session), Some(client)) = (form.session.as_deref(), form.client.as_deref()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The form is incomplete.",
        );
    };
    let (pending, _) = match load_pending(&broker, &headers, session, "manage").await {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    if !form
        .csrf
        .as_deref()
        .is_some_and(|csrf| same(csrf, &pending.csrf))
    {
        return error_page(
            StatusCode::FORBIDDEN,
            "This request was refused",
            "The form was not sent from this server's page (its CSRF token is missing or \
             wrong). Nothing was changed.",
        );
    }
    match consents::revoke(
        broker.store.as_ref(),
        &pending.tenant_id,
        &pending.object_id,
        client,
    )
    .await
    {
        // Only a key the store had, never the form's text.
        Ok(Some(client)) => tracing::info!(
            tid = %pending.tenant_id,
            oid = %pending.object_id,
            client = %client,
            "consent revoked"
        ),
        Ok(None) => {}
        Err(_) => return unavailable_page(),
    }
    pages::see_other(
        &broker
            .settings
            .endpoint(&format!("/consents?session={session}")),
    )
}
