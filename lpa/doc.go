// Package lpa is a test LPA: the LPAd side of SGP.22 §3.1.3 "Profile Download and Installation".
// It drives an eUICC through ES10b (SGP.22 §5.7) and an SM-DP+ through ES9+ (§5.6, the JSON
// binding of §6.5) in the order and with the wire habits of lpac, the open LPA most test labs
// use, so that what it sees is what a phone or lpac would see:
//
//   - ES9+ requests are POSTs to https://<address>/gsma/rsp2/es9plus/<function> with
//     User-Agent: gsma-rsp-lpad, X-Admin-Protocol: gsma/rsp/v2.2.2 and
//     Content-Type: application/json; HTTP/2 is used when the server offers it; the
//     smdpAddress is the Activation Code's address as typed, port included.
//   - A response whose header.functionExecutionStatus is not Executed-Success (or
//     Executed-WithWarning) is a *ServerError; an HTTP status other than the function's (200,
//     or 204 for handleNotification) or no response at all is a *TransportError.
//   - On any failure after ES9+.InitiateAuthentication has given a transactionId and before the
//     eUICC has produced a Profile Installation Result, the session is cancelled as lpac does:
//     ES10b.CancelSession with reason endUserRejection, then ES9+.CancelSession with the eUICC's
//     answer, and the original error is returned.
//
// Where lpac stops, this LPA goes on as SGP.22 §3.1.3 asks: it delivers the Profile
// Installation Result to the SM-DP+ with ES9+.HandleNotification (successful or not) and then
// removes it from the eUICC with ES10b.RemoveNotificationFromList (NotificationSent).
//
// The card is anything with the ES10 Call method, normally an *apdu.ES10 over an
// apdu.CardTransport (a virtual eUICC in the same process) or an apdu.StdioTransport (a card
// process speaking lpac's stdio APDU protocol). The LPA is safe for concurrent use if its Card
// is, but one card runs one download at a time; a load generator uses one LPA per card.
package lpa
