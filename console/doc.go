// Package console is the SM-DP+ operator console: a web front end, under /console, for the people
// who run an operator's eSIM business on this SM-DP+ and for its administrators. It shows the
// profile pools and the quality of downloads, imports SAIP profile packages (one package, or a
// template with a personalisation file), places ES2+ orders (SGP.22 §5.3: DownloadOrder,
// ConfirmOrder, ReleaseProfile, CancelOrder) with their activation code (§4.1) as text and QR
// code, follows each download live, and exports usage records and the audit log.
//
// # Pages
//
//	/console/              dashboard: pool levels, downloads per hour, success rates, failures by
//	                       reason (SGP.22 errorReason / cancelSessionReason) and by EUM, as SVG
//	/console/inventory     search by ICCID, state, profile type; import with a dry run first
//	/console/orders        orders; new order; one order with its activation code, QR code,
//	                       cancel and release, and its timeline, refreshed while a download runs
//	/console/eid           the history of one eUICC (EID)
//	/console/usage         usage records of a period, downloadable as CSV or JSON
//	/console/audit         the audit log (store events)
//
// Everything is rendered on the server with html/template; charts are SVG drawn by this package;
// the style sheet and the one small script (live refresh, copy button) are embedded, so the
// console works offline and needs no build step. Pages work without the script.
//
// # Security
//
// A user signs in with an operator ID and a console password (or as the administrator, user name
// AdminUser), checked by an Authenticator; NewPasswordAuthenticator checks bcrypt or argon2id
// hashes. A successful sign-in opens a server-side session named by a random 256-bit identifier
// in an HttpOnly, Secure, SameSite=Strict cookie with the __Host- prefix; it ends after an idle
// period, after an absolute lifetime, or on sign-out. Every POST carries a synchronizer token
// bound to the session (the sign-in form a double-submit token), and a POST without it, or with
// another, is refused with 403; so is one whose Origin is another site. Repeated failed sign-ins
// lock a user name for a while.
//
// An operator sees only its own profiles, orders, events and usage: every query is scoped to its
// operator ID, and another operator's ICCID answers 404 exactly like one that does not exist.
// The administrator sees everything and acts on a profile on behalf of the operator that owns it.
// Operator actions taken here are recorded as audit events (store.Event) with the user who took
// them.
//
// Sessions live in the memory of the process: behind several replicas, route /console/ to one
// replica, or sticky by cookie. Uploads awaiting confirmation travel in the dry-run page itself
// (and are checked again on import), so they need no server state.
package console
