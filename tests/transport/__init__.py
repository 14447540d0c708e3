"""The transport against hostile servers on 127.0.0.1: lying headers, broken HTTP, held responses."""
