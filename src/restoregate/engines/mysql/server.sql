-- Who and where we are, and how AUTO_INCREMENT steps on this server.
SELECT VERSION() AS version,
       DATABASE() AS db,
       CURRENT_USER() AS user,
       @@auto_increment_increment AS ai_increment,
       @@auto_increment_offset AS ai_offset
