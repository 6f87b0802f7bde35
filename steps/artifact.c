/* placeholder until the module lands (this session) */
