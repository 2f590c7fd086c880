"""PostgreSQL access: pool, migrations, repositories (the only place with SQL)."""
