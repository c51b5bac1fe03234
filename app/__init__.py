"""LinkedIn Ads integration service."""
