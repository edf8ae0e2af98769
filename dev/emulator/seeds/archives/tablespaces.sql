--
-- PostgreSQL database cluster dump
--

\restrict 6LR2lJFGlLsmD4MD8CWTekDdJmbDjygGdVzNeBzqQ80aQZtMDJEZgg4pge68ckH

SET default_transaction_read_only = off;

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;



\unrestrict 6LR2lJFGlLsmD4MD8CWTekDdJmbDjygGdVzNeBzqQ80aQZtMDJEZgg4pge68ckH

--
-- PostgreSQL database cluster dump complete
--

