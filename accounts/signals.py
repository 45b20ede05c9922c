"""Signals by which tenancy tells the feature apps above it what happened, without knowing them."""

from django.dispatch import Signal

# Sent by `accounts.services.tenant_onboard` inside its transaction, with `tenant=`. Receivers give the new
# tenant their app's defaults; an error in one rolls the whole creation back.
tenant_created = Signal()
