"""Onboarding: write the starters into a repository (init), deploy the roles and the bridge
(setup-aws), check everything (doctor), and remove it all after the last run (teardown)."""
