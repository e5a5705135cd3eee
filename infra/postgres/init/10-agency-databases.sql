-- One database and one role per agency deployment on the shared demo server, as if every agency
-- ran its own PostgreSQL (which is what production does). Each role owns its database and can
-- connect to nothing else: no role is a member of another, and CONNECT on every database is
-- revoked from PUBLIC, so only the owner (and the superuser) gets in.
--
-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d), as the
-- superuser, with ON_ERROR_STOP. Names follow `pnpm start` with DATABASE_URL
-- (infra/network/src/postgres-databases.ts): lotse_<deployment id with _ for ->.
--
-- The passwords are for this local demo network only; docker-compose.yml repeats them in each
-- service's DATABASE_URL. Never reuse them anywhere else.

REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC;

-- Ausländerbehörde of the Kreisverwaltung Mayen-Koblenz
CREATE ROLE lotse_kv_mayen_koblenz LOGIN PASSWORD 'lotse-dev-kv-mayen-koblenz';
CREATE DATABASE lotse_kv_mayen_koblenz OWNER lotse_kv_mayen_koblenz;
REVOKE ALL ON DATABASE lotse_kv_mayen_koblenz FROM PUBLIC;

-- Lotsenhaus (hub)
CREATE ROLE lotse_lotsenhaus LOGIN PASSWORD 'lotse-dev-lotsenhaus';
CREATE DATABASE lotse_lotsenhaus OWNER lotse_lotsenhaus;
REVOKE ALL ON DATABASE lotse_lotsenhaus FROM PUBLIC;

-- Caritasverband Koblenz
CREATE ROLE lotse_caritas_koblenz LOGIN PASSWORD 'lotse-dev-caritas-koblenz';
CREATE DATABASE lotse_caritas_koblenz OWNER lotse_caritas_koblenz;
REVOKE ALL ON DATABASE lotse_caritas_koblenz FROM PUBLIC;

-- Caritasverband Rhein-Mosel-Ahr
CREATE ROLE lotse_caritas_rhein_mosel_ahr LOGIN PASSWORD 'lotse-dev-caritas-rhein-mosel-ahr';
CREATE DATABASE lotse_caritas_rhein_mosel_ahr OWNER lotse_caritas_rhein_mosel_ahr;
REVOKE ALL ON DATABASE lotse_caritas_rhein_mosel_ahr FROM PUBLIC;

-- AWO Rheinland
CREATE ROLE lotse_awo_rheinland LOGIN PASSWORD 'lotse-dev-awo-rheinland';
CREATE DATABASE lotse_awo_rheinland OWNER lotse_awo_rheinland;
REVOKE ALL ON DATABASE lotse_awo_rheinland FROM PUBLIC;

CREATE ROLE lotse_jobcenter_mayen_koblenz LOGIN PASSWORD 'lotse-dev-jobcenter-mayen-koblenz';
CREATE DATABASE lotse_jobcenter_mayen_koblenz OWNER lotse_jobcenter_mayen_koblenz;
REVOKE ALL ON DATABASE lotse_jobcenter_mayen_koblenz FROM PUBLIC;

CREATE ROLE lotse_jobcenter_koblenz LOGIN PASSWORD 'lotse-dev-jobcenter-koblenz';
CREATE DATABASE lotse_jobcenter_koblenz OWNER lotse_jobcenter_koblenz;
REVOKE ALL ON DATABASE lotse_jobcenter_koblenz FROM PUBLIC;
