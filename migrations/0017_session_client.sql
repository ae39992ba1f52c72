-- The client a session was opened by, as it named itself at sign-in (Enterprise LogOn ClientName and
-- ClientAppName, the User-Agent elsewhere): the operations the session's requests make name it.
alter table sessions add column client text;
