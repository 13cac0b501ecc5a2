"""What every feature uses: confirm and form dialogs, help, the footer, thread workers."""
