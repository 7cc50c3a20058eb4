"""The Python SDK for the AutoPrintFarm /v1 API.

```python
from autoprintfarm import Client

client = Client(api_key="YOUR_KEY")
for printer in client.printers.list(status="printing"):
    print(printer.name, printer.progress)
```

Docs: docs/sdk-python.md.
"""

from __future__ import annotations

from autoprintfarm import models, webhooks
from autoprintfarm._async import AsyncClient
from autoprintfarm._core import DEFAULT_BASE_URL
from autoprintfarm._retry import RetryPolicy
from autoprintfarm._sync import Client
from autoprintfarm._version import __version__
from autoprintfarm.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    AutoPrintFarmError,
    ConflictError,
    FileInvalidError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PrinterBusyError,
    PrinterOfflineError,
    QuotaExceededError,
    RateLimitError,
    WebhookVerificationError,
)
from autoprintfarm.models import (
    Agent,
    AgentRegistration,
    ApiKey,
    DeliveryAttempt,
    FleetAnalytics,
    GcodeCommand,
    Invitation,
    Job,
    JobFileAnalysis,
    Material,
    MqttCredential,
    Organization,
    Pagination,
    Printer,
    PrinterCommand,
    User,
    Webhook,
    WebhookEvent,
)
from autoprintfarm.pagination import AsyncPage, SyncPage
from autoprintfarm.ratelimit import RateLimit
from autoprintfarm.resources._calls import NOT_GIVEN

__all__ = [
    "DEFAULT_BASE_URL",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Agent",
    "AgentRegistration",
    "ApiKey",
    "AsyncClient",
    "AsyncPage",
    "AuthenticationError",
    "AutoPrintFarmError",
    "Client",
    "ConflictError",
    "DeliveryAttempt",
    "FileInvalidError",
    "FleetAnalytics",
    "GcodeCommand",
    "InternalServerError",
    "InvalidRequestError",
    "Invitation",
    "Job",
    "JobFileAnalysis",
    "Material",
    "MqttCredential",
    "NotFoundError",
    "Organization",
    "Pagination",
    "PermissionDeniedError",
    "Printer",
    "PrinterBusyError",
    "PrinterCommand",
    "PrinterOfflineError",
    "QuotaExceededError",
    "RateLimit",
    "RateLimitError",
    "RetryPolicy",
    "SyncPage",
    "User",
    "Webhook",
    "WebhookEvent",
    "WebhookVerificationError",
    "__version__",
    "models",
    "webhooks",
]
