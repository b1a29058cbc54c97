"""Codes of a decision: the policy's, and the rules of reviewing a held action
(who may review, how often, with what, and the states a request can no longer
leave).

Part of :mod:`countersign.codes`, which documents the naming and keeps the registry.
"""

from __future__ import annotations

from .errors import CountersignError


class PolicyDenied(CountersignError):
    """The policy denied the action."""

    code = "POLICY_DENIED"


class PolicyError(CountersignError):
    """A policy rule failed to evaluate; the action is denied (fail closed)."""

    code = "POLICY_ERROR"


class NotFound(CountersignError):
    """No such request, or the caller may not see it."""

    code = "NOT_FOUND"


class Forbidden(CountersignError):
    """The caller may not do this to this request."""

    code = "FORBIDDEN"


class AgentCannotReview(CountersignError):
    """Only humans review; an agent can never approve or deny."""

    code = "AGENT_CANNOT_REVIEW"


class AgentCannotSignIn(CountersignError):
    """Only humans sign in to the web console; an agent uses its API key on the REST API.

    """

    code = "AGENT_CANNOT_SIGN_IN"


class LoginCodeInvalid(CountersignError):
    """A one-time code of `countersign login` was refused at the gateway: unknown, already used,
    expired, sent to another loopback address than the one given, or redeemed without the PKCE
    verifier of the sign-in that asked for it (or with another one, which spends it); `reason` says
    which (`login.code_invalid`, `login.verifier_invalid`). Nothing was issued.
    """

    code = "LOGIN_CODE_INVALID"


class LoginStateMismatch(CountersignError):
    """`countersign login` received at its loopback address an answer whose `state` is not the one it
    sent: a sign-in it did not start (another page, another program); it redeemed nothing and
    stopped.
    """

    code = "LOGIN_STATE_MISMATCH"


class CsrfRejected(CountersignError):
    """A console form arrived without its session's CSRF token, or from another origin;
    nothing changed.
    """

    code = "CSRF_REJECTED"


class SelfApprovalForbidden(CountersignError):
    """The requester, and the human an agent acts for, can never review that request."""

    code = "SELF_APPROVAL_FORBIDDEN"


class NotAnApprover(CountersignError):
    """The reviewer is outside every approver group the request needs."""

    code = "NOT_AN_APPROVER"


class IdentityStale(CountersignError):
    """A review came through a channel that knows its human by a chat account (Slack, Teams)
    and only a console sign-in older than `identity.login.groupsMaxAge` vouches for their groups
    from the identity provider: those groups no longer count, and without them the human may not
    review this request (groups the config file gives them still count); nothing was recorded.
    """

    code = "IDENTITY_STALE"


class IdentityNotDistinct(CountersignError):
    """A review or a break-glass came from someone the gateway cannot tell apart from a human
    the request is for: the agent names that human by a provider subject or username that no
    configured human or console sign-in links to a person, or a configured human it is for has
    never signed in to the console and the reviewer is not named by the configuration (an account
    under another address could be hers); nothing was recorded.
    """

    code = "IDENTITY_NOT_DISTINCT"


class BreakGlassNotAllowed(CountersignError):
    """A break-glass came from someone who may not break the glass on this request: an agent,
    the requester or the human it acts for, a human outside the break-glass groups of its rules,
    or a request whose rules name none; nothing ran.
    """

    code = "BREAK_GLASS_NOT_ALLOWED"


class GrantNotAllowed(CountersignError):
    """A scoped grant was offered or revoked where it may not be: on a request whose holding rules
    do not all permit grants, beyond their caps (uses, duration), with a deny, or by an agent or a
    human who may not revoke it; nothing was recorded.
    """

    code = "GRANT_NOT_ALLOWED"


class JustificationRequired(CountersignError):
    """A break-glass came without a justification (or with one longer than 2000 characters); one
    is required, and nothing ran.
    """

    code = "JUSTIFICATION_REQUIRED"


class StepUpRequired(CountersignError):
    """An approval or a break-glass of a request whose rules require a step-up (`stepUp: webauthn`)
    came without a fresh passkey confirmation by this human in the console (or the confirmation did
    not verify: wrong or used challenge, one for another purpose, another request, another human’s
    passkey, no user verification); nothing was recorded and nothing ran. Registering or removing a
    passkey can be refused with it too (removing one’s own needs a confirmation with one of one’s
    passkeys; under `console.webauthn.enrolment: sso` a first passkey needs an identity-provider
    sign-in), and the check before running denies with it a break-glass given without
    a passkey where the policy in force then requires one.
    """

    code = "STEP_UP_REQUIRED"


class ConfirmationRequired(CountersignError):
    """An approval of a request on a connection tagged production or PII came without its
    explicit confirmation; nothing was recorded.
    """

    code = "CONFIRMATION_REQUIRED"


class AlreadyReviewed(CountersignError):
    """This human has already reviewed this request; each human counts once."""

    code = "ALREADY_REVIEWED"


class ReviewDenied(CountersignError):
    """A human reviewer denied the request; it will not run, and the decision is final."""

    code = "REVIEW_DENIED"


class RequestAlreadyDecided(CountersignError):
    """The request was already approved or denied; its decision is final."""

    code = "REQUEST_ALREADY_DECIDED"


class RequestExpired(CountersignError):
    """The request passed its time to live without a decision; it is final."""

    code = "REQUEST_EXPIRED"


class RequestCancelled(CountersignError):
    """The request was withdrawn by its requester; it is final."""

    code = "REQUEST_CANCELLED"


class RequestNotPending(CountersignError):
    """The request is no longer pending, so it cannot be cancelled."""

    code = "REQUEST_NOT_PENDING"


class RequesterNotConfigured(CountersignError):
    """The principal that asked for the request is no longer one the configuration in force knows:
    taken out of `principals:`, made another kind, asking with an API key no longer among its
    `apiKeys` (rotated), or its token's issuer is no longer configured for its kind. The request
    will not run.

    """

    code = "REQUESTER_NOT_CONFIGURED"


class DigestMismatch(CountersignError):
    """The stored action no longer matches the digest that was approved; it will not run.

    """

    code = "DIGEST_MISMATCH"
