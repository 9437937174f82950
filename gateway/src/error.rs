//! How phases reject a request: a Pingora error whose type is the problem kind's slug and status,
//! and whose context is the `detail` a person can act on. Only `phase::fail` renders them.

use pingora::{Error, ErrorType};
use sandgate_core::problem::ProblemKind;

/// A downstream rejection of `kind` with `detail` (never containing a credential).
pub fn reject(kind: ProblemKind, detail: impl Into<pingora::ImmutStr>) -> Box<Error> {
    Error::explain(ErrorType::CustomCode(kind.slug(), kind.status()), detail).into_down()
}

/// The problem kind an error renders as: ours by slug, else by Pingora's error source.
pub fn kind_of(error: &Error) -> ProblemKind {
    match error.etype() {
        ErrorType::CustomCode(slug, _) => ProblemKind::from_slug(slug).unwrap_or(ProblemKind::Internal),
        ErrorType::HTTPStatus(413) => ProblemKind::PayloadTooLarge,
        ErrorType::HTTPStatus(status) if *status < 500 => ProblemKind::InvalidRequest,
        ErrorType::ConnectTimedout | ErrorType::ReadTimedout | ErrorType::WriteTimedout => match error.esource() {
            pingora::ErrorSource::Upstream => ProblemKind::UpstreamTimeout,
            _ => ProblemKind::InvalidRequest,
        },
        _ => match error.esource() {
            pingora::ErrorSource::Upstream => ProblemKind::UpstreamUnavailable,
            pingora::ErrorSource::Downstream => ProblemKind::InvalidRequest,
            _ => ProblemKind::Internal,
        },
    }
}

/// Whether `error` only says the client went away (it closed, or reading from or writing to it
/// failed): nothing to answer and no fault of ours.
pub fn client_gone(error: &Error) -> bool {
    *error.esource() == pingora::ErrorSource::Downstream
        && matches!(error.etype(), ErrorType::ConnectionClosed | ErrorType::ReadError | ErrorType::WriteError)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_round_trips_its_kind() {
        for kind in ProblemKind::ALL {
            assert_eq!(kind_of(&reject(*kind, "x")), *kind);
        }
    }

    #[test]
    fn kind_of_upstream_failures_is_502_or_504() {
        assert_eq!(kind_of(&Error::new_up(ErrorType::ConnectRefused)), ProblemKind::UpstreamUnavailable);
        assert_eq!(kind_of(&Error::new_up(ErrorType::ConnectTimedout)), ProblemKind::UpstreamTimeout);
        assert_eq!(kind_of(&Error::new_in(ErrorType::InternalError)), ProblemKind::Internal);
    }
}
