"""Imbi webhook plugin that writes SonarQube measures onto Imbi projects."""
