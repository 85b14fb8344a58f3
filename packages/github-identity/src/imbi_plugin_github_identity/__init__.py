"""Imbi identity plugin for GitHub and GitHub Enterprise Server OAuth."""
