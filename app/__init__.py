"""Contact API: contact-form submissions with attachments, stored in PostgreSQL."""

__version__ = "0.1.0"
